#!/usr/bin/env python3
"""Reads mailhook's events topic (sendgrid.events) in a consumer group, decodes each record
as mailhook.v1.EmailEvent in any of the daemon's record formats (unframe() and decode()),
skips events whose sg_event_id it has already processed, and commits the group's offsets
only after the events of a poll are processed.

Processing here is printing one JSON line per event on stdout; put your own in process().

    events_consumer.py --bootstrap 127.0.0.1:9092 [--topic sendgrid.events]
                       [--group events-example] [--idle-exit SECONDS]

Delivery is at least once: a crash between processing and the commit hands the same
records to the next member of the group, and SendGrid itself posts a batch again when its
request failed, so the same event can arrive twice. Both kinds of duplicate carry the same
sg_event_id, and mailhook keys records by tenant/address, so both land in the same
partition and reach the same consumer: dedupe_window remembers the ids of the last
--dedupe-size events in memory (a bounded LRU). Memory rather than a durable store because
duplicates arrive close together (SendGrid retries within hours, a redelivery right after
a rebalance) and a window costs nothing to run; the window starts empty after a restart,
so the process() of a real consumer stays idempotent (an upsert keyed by sg_event_id).
When an effect must happen exactly once, keep the ids in the database the effect goes
to, written in the same transaction.
"""

import argparse
import collections
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen"))

from confluent_kafka import Consumer, KafkaError, KafkaException  # noqa: E402
from google.protobuf import json_format  # noqa: E402

from mailhook.v1 import email_event_pb2  # noqa: E402

SCHEMA_HEADER = "mailhook-schema"


class dedupe_window:
    """The sg_event_ids of the last `size` distinct events, least recently seen first out."""

    def __init__(self, size):
        self.size = size
        self.ids = collections.OrderedDict()

    def seen(self, event_id):
        """True when event_id is in the window; remembers it either way."""
        if event_id in self.ids:
            self.ids.move_to_end(event_id)
            return True
        self.ids[event_id] = None
        if len(self.ids) > self.size:
            self.ids.popitem(last=False)
        return False


class malformed_frame(ValueError):
    """A value that starts like the Confluent wire format and does not go on like it."""


def read_zigzag_varint(data, pos):
    """The zigzag varint (an int32: at most 5 bytes) at data[pos:], and the position after
    it: 0x00 is 0, 0x01 is -1, 0x02 is 1, 0x04 is 2, ..."""
    raw = 0
    for i in range(5):
        if pos >= len(data):
            raise malformed_frame("a message index varint is cut short")
        byte = data[pos]
        pos += 1
        raw |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            if raw >= 1 << 32:
                raise malformed_frame("a message index varint is out of int32's range")
            return (raw >> 1) ^ -(raw & 1), pos
    raise malformed_frame("a message index varint is longer than 5 bytes")


def unframe(value):
    """Splits a value in the Confluent Schema Registry wire format (record_format =
    "confluent", the daemon's default) into (schema id, is JSON, payload):

        0x00 | schema id: uint32, big-endian | message indexes | protobuf
        0x00 | schema id: uint32, big-endian | JSON text        (ingest.encoding = "json")

    The message indexes (protobuf only) say which message of the schema's file the bytes
    are: zigzag varints, their count and then each index. mailhook writes [2], EmailEvent
    being the third message of email_event.proto (0x02 0x04); a lone 0x00 is Confluent's
    short form of [0]. This consumer knows what its topic carries and reads them only to
    find where the protobuf starts. JSON Schema values have no indexes: JSON text starts
    with '{'.

    None for a value that is not framed: its first byte is not 0x00 (a protobuf message
    never starts with 0x00, field number 0 being invalid, nor JSON text). malformed_frame
    for a frame cut short or with a bad varint."""
    if not value or value[0] != 0:
        return None
    if len(value) < 5:
        raise malformed_frame(f"a framed value of {len(value)} bytes (at least 5)")
    schema_id = int.from_bytes(value[1:5], "big")
    if value[5:6] == b"{":
        return schema_id, True, value[5:]
    count, pos = read_zigzag_varint(value, 5)
    left = len(value) - pos
    if count < 0 or count > left:
        raise malformed_frame(f"a count of {count} message indexes, {left} bytes left")
    for _ in range(count):
        _, pos = read_zigzag_varint(value, pos)
    return schema_id, False, value[pos:]


def decode(message):
    """The record's EmailEvent and the schema id it was framed with (None when it was not
    framed), whichever record_format the daemon writes:

      confluent  the value in the Confluent wire format (unframe()), no headers
      headers    a bare value, with the headers mailhook-event-id, mailhook-tenant and
                 mailhook-schema ("mailhook.v1.EmailEvent", "+json" appended for JSON)
      plain      a bare value, no headers

    A bare value is JSON (ingest.encoding = "json") when mailhook-schema ends in +json or
    the value starts with '{', else protobuf. Raises for a record that is none of these."""
    value = message.value() or b""
    frame = unframe(value)
    if frame is not None:
        schema_id, is_json, payload = frame
    else:
        schema = ""
        for name, header in message.headers() or []:
            if name == SCHEMA_HEADER and header is not None:
                schema = header.decode("utf-8", "replace")
        schema_id, payload = None, value
        is_json = schema.endswith("+json") or value[:1] == b"{"
    event = email_event_pb2.EmailEvent()
    if is_json:
        json_format.Parse(payload, event, ignore_unknown_fields=True)
    else:
        event.ParseFromString(payload)
    return event, schema_id


def process(event, schema_id, message):
    print(json.dumps({
        "type": email_event_pb2.EventType.Name(event.type),
        "event": event.event,
        "tenant": event.tenant,
        "email": event.email,
        "email_normalized": event.email_normalized,
        "sg_event_id": event.sg_event_id,
        "timestamp": event.timestamp,
        "schema_id": schema_id,  # None (null) when the record was not framed
        "partition": message.partition(),
        "offset": message.offset(),
    }), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers")
    parser.add_argument("--topic", default="sendgrid.events")
    parser.add_argument("--group", default="events-example", help="consumer group id")
    parser.add_argument("--dedupe-size", type=int, default=100_000,
                        help="how many sg_event_ids to remember (about 150 bytes each)")
    parser.add_argument("--idle-exit", type=float, default=0,
                        help="exit once nothing arrived for this many seconds after the "
                        "group gave partitions (0: run until SIGINT/SIGTERM)")
    args = parser.parse_args()

    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    consumer = Consumer({
        "bootstrap.servers": args.bootstrap,
        "group.id": args.group,
        # Offsets are committed by hand, after processing (below).
        "enable.auto.commit": False,
        # A new group starts at the oldest event the topic keeps.
        "auto.offset.reset": "earliest",
    })
    assigned = False

    def on_assign(_consumer, partitions):
        nonlocal assigned
        assigned = True

    # Revocations need no commit of their own: they happen inside consume(), and everything
    # consume() returned before was processed and committed.
    consumer.subscribe([args.topic], on_assign=on_assign)

    window = dedupe_window(args.dedupe_size)
    processed = duplicates = undecodable = 0
    idle_since = time.monotonic()
    try:
        while not stopping:
            messages = consumer.consume(num_messages=500, timeout=0.5)
            if not messages:
                if not assigned:
                    idle_since = time.monotonic()
                elif args.idle_exit and time.monotonic() - idle_since >= args.idle_exit:
                    break
                continue
            idle_since = time.monotonic()
            for message in messages:
                if message.error():
                    if message.error().fatal():
                        raise KafkaException(message.error())
                    print(f"events-consumer: {message.error()}", file=sys.stderr)
                    continue
                try:
                    event, schema_id = decode(message)
                except Exception as e:  # a record another producer wrote: skipped, and said so
                    undecodable += 1
                    print(f"events-consumer: partition {message.partition()} offset "
                          f"{message.offset()} is not a mailhook.v1.EmailEvent, skipped: {e}",
                          file=sys.stderr)
                    continue
                if event.sg_event_id and window.seen(event.sg_event_id):
                    duplicates += 1
                    continue
                process(event, schema_id, message)
                processed += 1
            # Every record of this poll is processed: commit the positions past them.
            try:
                consumer.commit(asynchronous=False)
            except KafkaException as e:
                # A rebalance took the partitions meanwhile: their new owner reads these
                # records again (the dedupe window, or an idempotent process(), copes).
                if e.args[0].code() != KafkaError._NO_OFFSET:
                    print(f"events-consumer: commit failed: {e}", file=sys.stderr)
    finally:
        consumer.close()  # leaves the group, so that its partitions move at once
    print(f"events-consumer: processed {processed}, skipped {duplicates} duplicates, "
          f"{undecodable} undecodable", file=sys.stderr)


if __name__ == "__main__":
    main()
