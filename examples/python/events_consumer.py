#!/usr/bin/env python3
"""Reads mailhook's events topic (sendgrid.events) in a consumer group, decodes each record
as mailhook.v1.EmailEvent, skips events whose sg_event_id it has already processed, and
commits the group's offsets only after the events of a poll are processed.

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


def decode(message):
    """The record's EmailEvent: protobuf, or JSON when its mailhook-schema header ends in
    +json (ingest.encoding = "json"). None for a record that is neither."""
    schema = ""
    for name, value in message.headers() or []:
        if name == SCHEMA_HEADER and value is not None:
            schema = value.decode("utf-8", "replace")
    event = email_event_pb2.EmailEvent()
    try:
        if schema.endswith("+json"):
            json_format.Parse(message.value(), event, ignore_unknown_fields=True)
        else:
            event.ParseFromString(message.value() or b"")
    except Exception:  # a record another producer wrote: skipped, and said so
        return None
    return event


def process(event, message):
    print(json.dumps({
        "type": email_event_pb2.EventType.Name(event.type),
        "event": event.event,
        "tenant": event.tenant,
        "email": event.email,
        "email_normalized": event.email_normalized,
        "sg_event_id": event.sg_event_id,
        "timestamp": event.timestamp,
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
                event = decode(message)
                if event is None:
                    undecodable += 1
                    print(f"events-consumer: partition {message.partition()} offset "
                          f"{message.offset()} is not a mailhook.v1.EmailEvent, skipped",
                          file=sys.stderr)
                    continue
                if event.sg_event_id and window.seen(event.sg_event_id):
                    duplicates += 1
                    continue
                process(event, message)
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
