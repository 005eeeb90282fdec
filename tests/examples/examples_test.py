#!/usr/bin/env python3
"""The consumer examples of examples/ against the real mailhook binary and the shared Kafka
broker of scripts/test (MAILHOOK_TEST_KAFKA_BOOTSTRAP). Each case starts its own daemon
(roles ingest, policy, index) on topics of its own, feeds it through its webhook (SendGrid's
genuine signed test request, and batches signed with a key made here) and its admin API,
runs one example, and checks what the example decoded. The framing case needs no daemon: it
writes records of every record format by hand and runs both events consumers on them.

    examples_test.py SOURCE_DIR MAILHOOK_BINARY CASE

    setup                examples/setup: the venv and the Go build, into the cache
    generated-code       examples/generate --check: the committed code matches proto/
    python-events        examples/python/events_consumer.py
    go-events            examples/go/cmd/events-consumer
    framing              both events consumers on hand-made records of each record format
    python-suppressions  examples/python/suppressions_view.py

Standard library only: it runs before the examples' environment exists.
"""

import base64
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

SOURCE_DIR, MAILHOOK, CASE = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]), sys.argv[3]
EXAMPLES = os.path.join(SOURCE_DIR, "examples")
VECTORS = os.path.join(SOURCE_DIR, "tests/data/sendgrid")
WRITE_TOKEN = "examples-test-write-token-0123456789abcdef"

# SendGrid's own signed test request: one "dropped: Bounced Address" event.
with open(os.path.join(VECTORS, "signed-dropped.json")) as f:
    SAMPLE = json.load(f)
with open(os.path.join(VECTORS, "signed-dropped.body"), "rb") as f:
    SAMPLE_BODY = f.read()
SAMPLE_EVENT_ID = json.loads(SAMPLE_BODY)[0]["sg_event_id"]


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def expect_equal(what, got, want):
    if got != want:
        fail(f"{what}:\n  got:  {got!r}\n  want: {want!r}")


def env_of_examples():
    """examples/env.sh's variables (the venv, the Go caches), as a dict."""
    out = subprocess.run(
        ["bash", "-c", f'source "{EXAMPLES}/env.sh" && echo "$EXAMPLES_VENV" && '
         'echo "$EXAMPLES_BIN" && echo "$GOPATH" && echo "$GOMODCACHE" && echo "$GOCACHE"'],
        check=True, capture_output=True, text=True).stdout.split("\n")
    return dict(zip(["venv", "bin", "GOPATH", "GOMODCACHE", "GOCACHE"], out))


def shared_bootstrap():
    bootstrap = os.environ.get("MAILHOOK_TEST_KAFKA_BOOTSTRAP")
    if not bootstrap:
        fail("MAILHOOK_TEST_KAFKA_BOOTSTRAP is not set: run integration tests through scripts/test")
    return bootstrap


def run(argv, timeout=60, **kwargs):
    started = time.monotonic()
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kwargs)
    print(f"$ {' '.join(argv)}  ({time.monotonic() - started:.1f} s, exit {r.returncode})")
    if r.stderr:
        print(r.stderr.rstrip())
    if r.returncode != 0:
        print(r.stdout)
        fail(f"{argv[0]} exited {r.returncode}")
    return r


class daemon:
    """mailhook serve with ingest, policy and index on topics of its own; env: environment
    variables to set for it (configuration settings, MAILHOOK_<SECTION>__<KEY>)."""

    def __init__(self, bootstrap, env=None):
        self.bootstrap = bootstrap
        self.dir = tempfile.mkdtemp(prefix="mailhook-examples-")
        self.id = uuid.uuid4().hex[:10]
        self.topics = {t: f"examples.{self.id}.{t}" for t in
                       ("events", "dlq", "suppressions", "send_requests", "send_results",
                        "send_ledger")}
        # A P-256 key of our own for the source "acme", to sign batches of our making.
        self.key = os.path.join(self.dir, "acme.pem")
        subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout",
                        "-out", self.key], check=True)
        public = subprocess.run(["openssl", "ec", "-in", self.key, "-pubout", "-outform", "DER"],
                                check=True, capture_output=True).stdout
        with open(os.path.join(self.dir, "write-token"), "w") as f:
            f.write(WRITE_TOKEN + "\n")
        toml = [
            '[admin]\nlisten = "127.0.0.1:0"\n',
            '[[admin.tokens]]\nname = "examples-writer"\nscope = "write"\n'
            f'file = "{self.dir}/write-token"\n',
            f'[kafka]\nbootstrap_servers = "{bootstrap}"\nhealth_interval = "200ms"\n'
            'health_timeout = "1s"\n',
        ]
        for t, name in self.topics.items():
            partitions = 1 if t == "dlq" else 2
            toml.append(f'[topics.{t}]\nname = "{name}"\npartitions = {partitions}\n')
        toml += [
            '[ingest]\nlisten = "127.0.0.1:0"\n',
            f'[policy]\ngroup_id = "examples-policy-{self.id}"\n'
            f'transactional_id = "examples-policy-{self.id}"\n',
            f'[index]\ndir = "{self.dir}/index"\n',
            # SendGrid's published request is from 2020: no replay window for its source.
            f'[sources.sample]\ntenant = "sample"\npublic_keys = ["{SAMPLE["public_key"]}"]\n'
            'replay_window = "0"\n',
            f'[sources.acme]\ntenant = "acme"\n'
            f'public_keys = ["{base64.b64encode(public).decode()}"]\n',
        ]
        config = os.path.join(self.dir, "mailhook.toml")
        with open(config, "w") as f:
            f.write("\n".join(toml))
        self.log_path = os.path.join(self.dir, "mailhook.log")
        self.log = open(self.log_path, "w")
        # The record format is the daemon's default unless env asks for one.
        environment = {k: v for k, v in os.environ.items()
                       if k != "MAILHOOK_INGEST__RECORD_FORMAT"}
        environment.update(env or {})
        self.process = subprocess.Popen(
            [MAILHOOK, "serve", "--config", config, "--roles", "ingest,policy,index"],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=self.dir, env=environment)
        self.admin = self.webhook = None
        deadline = time.monotonic() + 30
        while self.admin is None and time.monotonic() < deadline:
            with open(self.log_path) as f:
                text = f.read()
            if m := re.search(r"webhook listener on [0-9.]+:(\d+)", text):
                self.webhook = int(m[1])
            if m := re.search(r"admin listener on [0-9.]+:(\d+)", text):
                self.admin = int(m[1])
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        if self.admin is None or self.webhook is None:
            self.fail("mailhook did not start")
        deadline = time.monotonic() + 60
        while self.request("GET", "/readyz")[0] != 200:
            if time.monotonic() > deadline:
                self.fail("mailhook was not ready within 60 s")
            time.sleep(0.1)

    def fail(self, message):
        with open(self.log_path) as f:
            print(f.read(), file=sys.stderr)
        fail(message)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def request(self, method, target, body=None, headers=None, port=None):
        req = urllib.request.Request(f"http://127.0.0.1:{port or self.admin}{target}",
                                     data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()
        except OSError as e:
            return 0, str(e).encode()

    def admin_request(self, method, target, document=None):
        headers = {"Authorization": f"Bearer {WRITE_TOKEN}"}
        body = None
        if document is not None:
            body = json.dumps(document).encode()
            headers["Content-Type"] = "application/json"
        return self.request(method, target, body, headers)

    def post_sample(self):
        """SendGrid's genuine signed test request, to the source "sample"."""
        status, body = self.request("POST", "/webhooks/sendgrid/sample", SAMPLE_BODY,
                                    SAMPLE["headers"], port=self.webhook)
        expect_equal(f"the sample request's answer ({body!r})", status, 200)

    def post_signed(self, events):
        """A batch signed with the source "acme"'s key, as SendGrid signs: ECDSA P-256 over
        the timestamp's text followed by the body."""
        body = json.dumps(events).encode()
        timestamp = str(int(time.time()))
        signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.key],
                                   input=timestamp.encode() + body, check=True,
                                   capture_output=True).stdout
        status, answer = self.request("POST", "/webhooks/sendgrid/acme", body, {
            "Content-Type": "application/json",
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
        }, port=self.webhook)
        expect_equal(f"the acme batch's answer ({answer!r})", status, 200)


def event(kind, email, event_id, **fields):
    return {"email": email, "event": kind, "sg_event_id": event_id,
            "sg_message_id": f"msg-{event_id}", "timestamp": int(time.time()), **fields}


# ----- the events consumers -------------------------------------------------------------

# What an events consumer must print, once each: (type, tenant, email, email_normalized,
# sg_event_id). Everything else the daemon published is a duplicate of one of these.
EXPECTED_EVENTS = sorted([
    ("EVENT_TYPE_DROPPED", "sample", "hello@world.com", "hello@world.com", SAMPLE_EVENT_ID),
    ("EVENT_TYPE_DELIVERED", "acme", "Alice@Example.com", "alice@example.com", "ex-delivered-1"),
    ("EVENT_TYPE_OPEN", "acme", "bob@example.com", "bob@example.com", "ex-open-1"),
    ("EVENT_TYPE_BOUNCE", "acme", "carol@example.com", "carol@example.com", "ex-bounce-1"),
    ("EVENT_TYPE_CLICK", "acme", "bob@example.com", "bob@example.com", "ex-click-1"),
])
EXPECTED_DUPLICATES = 3


def publish_events(d):
    # SendGrid retrying its request: the same event twice.
    d.post_sample()
    d.post_sample()
    delivered = event("delivered", "Alice@Example.com", "ex-delivered-1", response="250 OK")
    opened = event("open", "bob@example.com", "ex-open-1", useragent="Mozilla/5.0", ip="192.0.2.1")
    # A batch that holds one event twice, and a later one that repeats an earlier event.
    d.post_signed([delivered, opened,
                   event("bounce", "carol@example.com", "ex-bounce-1", type="bounce",
                         reason="550 5.1.1 no such user", status="5.1.1"),
                   delivered])
    d.post_signed([event("click", "bob@example.com", "ex-click-1", url="https://example.com/"),
                   opened])


# The daemon's record formats ([ingest] record_format) an events consumer is run against:
# (environment, the schema id it must print). The default, "confluent", frames each value
# with [ingest] event_schema_id (1 by default); "headers" writes bare values with headers.
RECORD_FORMATS = [
    ({}, 1),
    ({"MAILHOOK_INGEST__RECORD_FORMAT": "headers"}, None),
]


def check_events_consumer(argv_of):
    """argv_of(bootstrap, topic, group) is the example's command line."""
    bootstrap = shared_bootstrap()
    for env, schema_id in RECORD_FORMATS:
        print(f"--- record format: {env.get('MAILHOOK_INGEST__RECORD_FORMAT', 'the default')}")
        d = daemon(bootstrap, env)
        try:
            publish_events(d)  # each request is answered 200 only once Kafka holds it
            group = f"examples-{d.id}"
            first = run(argv_of(bootstrap, d.topics["events"], group))
            lines = [json.loads(line) for line in first.stdout.splitlines()]
            got = sorted((e["type"], e["tenant"], e["email"], e["email_normalized"],
                          e["sg_event_id"]) for e in lines)
            expect_equal("the events processed (once each)", got, EXPECTED_EVENTS)
            expect_equal("the schema ids", [e["schema_id"] for e in lines],
                         [schema_id] * len(lines))
            if f"skipped {EXPECTED_DUPLICATES} duplicates" not in first.stderr:
                fail(f"expected {EXPECTED_DUPLICATES} duplicates skipped: {first.stderr!r}")
            # The offsets were committed: the group's next member reads nothing new (without
            # them it would start again at the oldest record, auto.offset.reset = earliest).
            again = run(argv_of(bootstrap, d.topics["events"], group))
            expect_equal("what a second run of the group processed", again.stdout, "")
            if "processed 0, skipped 0 duplicates" not in again.stderr:
                fail(f"the second run read records: {again.stderr!r}")
        finally:
            d.stop()


# ----- the record formats, by hand -------------------------------------------------------

def confluent_prefix(schema_id, message_indexes=b""):
    """The Confluent Schema Registry wire format's prefix: the magic byte 0x00, the schema id
    (uint32, big-endian), then for protobuf the message indexes as zigzag varints."""
    return b"\x00" + struct.pack(">I", schema_id) + message_indexes


def framing_event(kind, type_, email, event_id):
    return {"type": type_, "event": kind, "tenant": "acme", "email": email,
            "email_normalized": email.lower(), "sg_event_id": event_id,
            "timestamp": 1700000000 + len(event_id)}


def headers_of(event_id, schema):
    return [["mailhook-event-id", event_id], ["mailhook-tenant", "acme"],
            ["mailhook-schema", schema]]


# (what, the event or None, JSON rather than protobuf, the bytes before the encoded event,
# headers, the schema id the consumers must print), in offset order on one partition.
PLAIN = framing_event("processed", "EVENT_TYPE_PROCESSED", "Plain@Example.com", "fr-plain-pb")
FRAMING_RECORDS = [
    ("confluent, protobuf, message indexes [2]",
     framing_event("delivered", "EVENT_TYPE_DELIVERED", "Alice@Example.com", "fr-conf-pb"),
     False, confluent_prefix(1, b"\x02\x04"), [], 1),
    ("confluent, protobuf, the short form of [0]",
     framing_event("open", "EVENT_TYPE_OPEN", "bob@example.com", "fr-conf-short"),
     False, confluent_prefix(258, b"\x00"), [], 258),
    ("confluent, JSON",
     framing_event("bounce", "EVENT_TYPE_BOUNCE", "carol@example.com", "fr-conf-json"),
     True, confluent_prefix(3), [], 3),
    ("headers, protobuf",
     framing_event("click", "EVENT_TYPE_CLICK", "dave@example.com", "fr-hdr-pb"),
     False, b"", headers_of("fr-hdr-pb", "mailhook.v1.EmailEvent"), None),
    # Starts with a space: only the header says it is JSON.
    ("headers, JSON",
     framing_event("dropped", "EVENT_TYPE_DROPPED", "erin@example.com", "fr-hdr-json"),
     True, b" ", headers_of("fr-hdr-json", "mailhook.v1.EmailEvent+json"), None),
    ("plain, protobuf", PLAIN, False, b"", [], None),
    ("plain, JSON",
     framing_event("spamreport", "EVENT_TYPE_SPAMREPORT", "frank@example.com", "fr-plain-json"),
     True, b"", [], None),
    ("a frame shorter than 5 bytes", None, False, b"\x00\x00\x01", [], None),
    ("a message index varint that does not end", None, False,
     confluent_prefix(1, b"\xff" * 6), [], None),
    ("two message indexes announced, one there", None, False,
     confluent_prefix(1, b"\x04\x04"), [], None),
    ("confluent, the plain record's event again: a duplicate", PLAIN, False,
     confluent_prefix(1, b"\x02\x04"), [], None),
]

# Run with the examples' Python: writes the records of a JSON document on stdin.
PRODUCE_RECORDS = """
import json, sys
sys.path.insert(0, sys.argv[1])
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from google.protobuf import json_format
from mailhook.v1 import email_event_pb2
spec = json.load(sys.stdin)
topic = spec["topic"]
admin = AdminClient({"bootstrap.servers": spec["bootstrap"]})
admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
p = Producer({"bootstrap.servers": spec["bootstrap"]})
for r in spec["records"]:
    value = bytes.fromhex(r["prefix"])
    if r["event"] is not None:
        event = json_format.ParseDict(r["event"], email_event_pb2.EmailEvent())
        value += (json_format.MessageToJson(event, preserving_proto_field_name=True).encode()
                  if r["json"] else event.SerializeToString())
    p.produce(topic, key=r["key"].encode(), value=value,
              headers=[(k, v.encode()) for k, v in r["headers"]])
    p.flush(30)  # one at a time: the offsets are the list's positions
assert p.flush(30) == 0
"""


def check_framing(consumers, python):
    """consumers: (name, argv_of(bootstrap, topic, group)) of each events consumer."""
    bootstrap = shared_bootstrap()
    topic = f"examples.{uuid.uuid4().hex[:10]}.framing"
    records = [{"key": f"acme/{e['email_normalized']}" if e else "acme/", "event": e,
                "json": js, "prefix": prefix.hex(), "headers": headers}
               for _, e, js, prefix, headers, _ in FRAMING_RECORDS]
    run([python, "-c", PRODUCE_RECORDS, os.path.join(EXAMPLES, "python/gen")],
        input=json.dumps({"bootstrap": bootstrap, "topic": topic, "records": records}))
    # Each event once, at its first offset; the rest are duplicates or malformed.
    want, malformed, duplicates = [], [], 0
    for offset, (_, e, _, _, _, schema_id) in enumerate(FRAMING_RECORDS):
        if e is None:
            malformed.append(offset)
        elif any(w["sg_event_id"] == e["sg_event_id"] for w in want):
            duplicates += 1
        else:
            want.append({**e, "schema_id": schema_id, "partition": 0, "offset": offset})
    for name, argv_of in consumers:
        print(f"--- {name}")
        r = run(argv_of(bootstrap, topic, f"examples-framing-{uuid.uuid4().hex[:10]}"))
        got = [json.loads(line) for line in r.stdout.splitlines()]
        for offset, (what, _, _, _, _, _) in enumerate(FRAMING_RECORDS):
            expect_equal(f"{name}: offset {offset} ({what})",
                         [g for g in got if g["offset"] == offset],
                         [w for w in want if w["offset"] == offset])
        expect_equal(f"{name}: the lines", got, want)
        for offset in malformed:
            if f"offset {offset} is not a mailhook.v1.EmailEvent, skipped" not in r.stderr:
                fail(f"{name}: the malformed record at offset {offset} was not reported: "
                     f"{r.stderr!r}")
        summary = (f"processed {len(want)}, skipped {duplicates} duplicates, "
                   f"{len(malformed)} undecodable")
        if summary not in r.stderr:
            fail(f"{name}: expected {summary!r}: {r.stderr!r}")


# ----- the suppressions view ------------------------------------------------------------

def check_suppressions_view(python):
    bootstrap = shared_bootstrap()
    d = daemon(bootstrap)
    try:
        # Through the policy: SendGrid's test request (dropped, Bounced Address), and a
        # batch with a spam report, a group unsubscribe, and an unsubscribe from group 7
        # that a later resubscribe clears.
        d.post_sample()
        now = int(time.time())
        d.post_signed([
            event("spamreport", "erin@example.com", "ex-spam-1"),
            event("group_unsubscribe", "dave@example.com", "ex-gu-1", asm_group_id=42),
            event("group_unsubscribe", "frank@example.com", "ex-gu-2", asm_group_id=7,
                  timestamp=now - 60),
            event("group_resubscribe", "frank@example.com", "ex-gr-2", asm_group_id=7,
                  timestamp=now),
        ])
        # Through the admin API: an addition, an addition lifted again, and one that an
        # operator's tombstone deletes.
        for email in ("manual@example.com", "lifted@example.com", "gone@example.com"):
            status, body = d.admin_request("POST", "/v1/suppressions", {
                "tenant": "acme", "email": email, "note": "examples test"})
            expect_equal(f"adding {email} ({body!r})", status, 202)
        query = urllib.parse.urlencode({"tenant": "acme", "email": "lifted@example.com",
                                        "note": "examples test: lifted"})
        status, body = d.admin_request("DELETE", f"/v1/suppressions?{query}")
        expect_equal(f"removing lifted@example.com ({body!r})", status, 202)
        # The policy's changes are in the changelog once the replica shows them.
        deadline = time.monotonic() + 20
        while True:
            _, acme = d.admin_request("GET", "/v1/suppressions?tenant=acme&state=all")
            _, sample = d.admin_request("GET", "/v1/suppressions?tenant=sample&state=all")
            if (all(e.encode() in acme for e in ("erin@", "dave@", "frank@"))
                    and b"hello@world.com" in sample):
                break
            if time.monotonic() > deadline:
                d.fail(f"the policy's changes did not reach the index: {acme!r} {sample!r}")
            time.sleep(0.2)
        tombstone = ("from confluent_kafka import Producer\n"
                     f"p = Producer({{'bootstrap.servers': '{bootstrap}'}})\n"
                     f"p.produce('{d.topics['suppressions']}', key=b'acme/global/gone@example.com',"
                     " value=None)\n"
                     "assert p.flush(10) == 0\n")
        run([python, "-c", tombstone])

        view = os.path.join(EXAMPLES, "python/suppressions_view.py")
        everything = json.loads(run([python, view, "--bootstrap", bootstrap, "--topic",
                                     d.topics["suppressions"], "--all"]).stdout)

        def fields(key, *names):
            return {n: everything.get(key, {}).get(n) for n in names}

        expect_equal("the keys", sorted(everything), [
            "acme/global/erin@example.com", "acme/global/lifted@example.com",
            "acme/global/manual@example.com", "acme/group:42/dave@example.com",
            "acme/group:7/frank@example.com", "sample/global/hello@world.com"])
        expect_equal("SendGrid's test event", fields(
            "sample/global/hello@world.com", "suppressed", "scope", "reason", "origin",
            "event_id"), {"suppressed": True, "scope": "SUPPRESSION_SCOPE_GLOBAL",
                          "reason": "SUPPRESSION_REASON_BOUNCE",
                          "origin": "SUPPRESSION_ORIGIN_EVENT", "event_id": SAMPLE_EVENT_ID})
        expect_equal("the spam report", fields(
            "acme/global/erin@example.com", "suppressed", "reason", "event_id"),
            {"suppressed": True, "reason": "SUPPRESSION_REASON_SPAM_REPORT",
             "event_id": "ex-spam-1"})
        expect_equal("the group unsubscribe", fields(
            "acme/group:42/dave@example.com", "suppressed", "scope", "reason"),
            {"suppressed": True, "scope": "SUPPRESSION_SCOPE_GROUP",
             "reason": "SUPPRESSION_REASON_GROUP_UNSUBSCRIBE"})
        expect_equal("the resubscribed group", fields(
            "acme/group:7/frank@example.com", "suppressed", "event_id"),
            {"suppressed": False, "event_id": "ex-gr-2"})
        expect_equal("the manual addition", fields(
            "acme/global/manual@example.com", "suppressed", "reason", "origin", "actor", "note"),
            {"suppressed": True, "reason": "SUPPRESSION_REASON_MANUAL",
             "origin": "SUPPRESSION_ORIGIN_MANUAL", "actor": "examples-writer",
             "note": "examples test"})
        expect_equal("the manual removal", fields(
            "acme/global/lifted@example.com", "suppressed", "origin", "note"),
            {"suppressed": False, "origin": "SUPPRESSION_ORIGIN_MANUAL",
             "note": "examples test: lifted"})
        # Without --all: the suppressed keys only.
        suppressed = json.loads(run([python, view, "--bootstrap", bootstrap, "--topic",
                                     d.topics["suppressions"]]).stdout)
        expect_equal("the suppressed keys", sorted(suppressed), [
            "acme/global/erin@example.com", "acme/global/manual@example.com",
            "acme/group:42/dave@example.com", "sample/global/hello@world.com"])
    finally:
        d.stop()


def main():
    started = time.monotonic()
    if CASE == "setup":
        run([os.path.join(EXAMPLES, "setup")], timeout=900)
    elif CASE == "generated-code":
        run([os.path.join(EXAMPLES, "generate"), "--check"], timeout=600)
    else:
        paths = env_of_examples()
        python = os.path.join(paths["venv"], "bin/python")
        if not os.path.exists(os.path.join(paths["venv"], ".complete")):
            fail(f"{paths['venv']} is not ready: examples/setup (the examples_setup test) runs first")
        python_events = lambda bootstrap, topic, group: [  # noqa: E731
            python, os.path.join(EXAMPLES, "python/events_consumer.py"),
            "--bootstrap", bootstrap, "--topic", topic, "--group", group, "--idle-exit", "3"]
        go_events = lambda bootstrap, topic, group: [  # noqa: E731
            os.path.join(paths["bin"], "events-consumer"), "-bootstrap", bootstrap,
            "-topic", topic, "-group", group, "-idle-exit", "3s"]
        if CASE == "python-events":
            check_events_consumer(python_events)
        elif CASE == "go-events":
            check_events_consumer(go_events)
        elif CASE == "framing":
            check_framing([("python", python_events), ("go", go_events)], python)
        elif CASE == "python-suppressions":
            check_suppressions_view(python)
        else:
            fail(f"unknown case {CASE}")
    print(f"{CASE}: passed in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
