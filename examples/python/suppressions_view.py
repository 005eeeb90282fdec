#!/usr/bin/env python3
"""Reads mailhook's compacted suppressions changelog (mailhook.suppressions) from the
beginning to its end, as an index replica does, into a dict keyed like the index:
"<tenant>/global/<email>", "<tenant>/group:<id>/<email>" or "<tenant>/tenant/". Prints
the keys that are suppressed, as one JSON object, and exits.

    suppressions_view.py --bootstrap 127.0.0.1:9092 [--topic mailhook.suppressions] [--all]

The rules are those of the index (docs/suppressions.md):
- a key's state is its record with the greatest (event_time_ms, event_id); records that
  lose to the one held change nothing, whatever order they come in;
- a clear (resubscribe, reactivate, a manual remove) is a record with suppressed = false,
  which the view keeps, so that an older suppression read later cannot win again (--all
  prints those too);
- a tombstone (a record without a value, written by an operator) deletes the key;
- the policy writes in Kafka transactions: only committed records are read.

No consumer group: every partition is assigned and nothing is committed, so each run
reads the whole changelog again.
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen"))

from confluent_kafka import Consumer, KafkaError, KafkaException, OFFSET_BEGINNING, TopicPartition  # noqa: E402,E501

from mailhook.v1 import suppression_record_pb2  # noqa: E402

SuppressionRecord = suppression_record_pb2.SuppressionRecord


def wins_over(candidate, current):
    """True when `candidate` replaces `current`: a later event time, or the same time and a
    greater event id (compared as bytes). The same pair again is a duplicate."""
    return ((candidate.event_time_ms, candidate.event_id.encode())
            > (current.event_time_ms, current.event_id.encode()))


def apply(view, key, value):
    if value is None:  # a tombstone
        view.pop(key, None)
        return
    record = SuppressionRecord.FromString(value)
    held = view.get(key)
    if held is None or wins_over(record, held):
        view[key] = record


def read_changelog(bootstrap, topic, timeout=30.0):
    """{key: SuppressionRecord} of every key in the changelog, cleared ones included, as of
    the end offsets the partitions had when reading began."""
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "mailhook-suppressions-view",  # required by the client; never joined
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
        "enable.partition.eof": True,
    })
    view = {}
    try:
        metadata = consumer.list_topics(topic, timeout=timeout)
        if metadata.topics[topic].error is not None:
            raise KafkaException(metadata.topics[topic].error)
        ends = {}
        for p in metadata.topics[topic].partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)
            if high > low:
                ends[p] = high
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
        deadline = time.monotonic() + timeout
        while ends:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}: partitions {sorted(ends)} not read to their end "
                                   f"within {timeout} s")
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                # The end of a partition as the consumer sees it: with read_committed the
                # last offsets can be transaction markers, which are never delivered.
                if message.error().code() == KafkaError._PARTITION_EOF:
                    ends.pop(message.partition(), None)
                    continue
                raise KafkaException(message.error())
            apply(view, message.key().decode(), message.value())
            if message.offset() + 1 >= ends.get(message.partition(), 0):
                ends.pop(message.partition(), None)
    finally:
        consumer.close()
    return view


def describe(record):
    return {
        "suppressed": record.suppressed,
        "scope": suppression_record_pb2.SuppressionScope.Name(record.scope),
        "reason": suppression_record_pb2.SuppressionReason.Name(record.reason),
        "origin": suppression_record_pb2.SuppressionOrigin.Name(record.origin),
        "email": record.email,
        "detail": record.detail,
        "event_id": record.event_id,
        "event_time_ms": record.event_time_ms,
        "actor": record.actor,
        "note": record.note,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers")
    parser.add_argument("--topic", default="mailhook.suppressions")
    parser.add_argument("--all", action="store_true", help="print cleared keys too")
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()

    view = read_changelog(args.bootstrap, args.topic, args.timeout)
    shown = {k: describe(r) for k, r in sorted(view.items()) if args.all or r.suppressed}
    print(json.dumps(shown, indent=2))
    suppressed = sum(1 for r in view.values() if r.suppressed)
    print(f"suppressions-view: {len(view)} keys, {suppressed} suppressed", file=sys.stderr)


if __name__ == "__main__":
    main()
