// Command events-consumer reads mailhook's events topic (sendgrid.events) in a consumer
// group, decodes each record as mailhook.v1.EmailEvent in any of the daemon's record
// formats (unframe and decode), skips events whose sg_event_id it has already processed,
// and commits the group's offsets only after the records of a poll are processed.
// Processing here is printing one JSON line per event on stdout; put your own in process().
//
//	events-consumer -bootstrap 127.0.0.1:9092 [-topic sendgrid.events]
//	                [-group events-example] [-idle-exit 0s]
//
// Delivery is at least once: a crash between processing and the commit hands the same
// records to the next member of the group, and SendGrid itself posts a batch again when
// its request failed. Both kinds of duplicate carry the same sg_event_id, and mailhook
// keys records by tenant/address, so both land in the same partition and reach the same
// consumer: dedupeWindow remembers the ids of the last -dedupe-size events in memory (a
// bounded LRU). Memory rather than a durable store because duplicates arrive close
// together and a window costs nothing to run; it starts empty after a restart, so the
// process() of a real consumer stays idempotent (an upsert keyed by sg_event_id). When an
// effect must happen exactly once, keep the ids in the database the effect goes to,
// written in the same transaction.
package main

import (
	"container/list"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"mailhook/examples/mailhookv1"
)

// dedupeWindow holds the sg_event_ids of the last size distinct events; the least
// recently seen goes first. One goroutine uses it.
type dedupeWindow struct {
	size  int
	order *list.List // front: most recently seen
	ids   map[string]*list.Element
}

func newDedupeWindow(size int) *dedupeWindow {
	return &dedupeWindow{size: size, order: list.New(), ids: make(map[string]*list.Element)}
}

// seen reports whether id is in the window, and remembers it either way.
func (w *dedupeWindow) seen(id string) bool {
	if e, ok := w.ids[id]; ok {
		w.order.MoveToFront(e)
		return true
	}
	w.ids[id] = w.order.PushFront(id)
	if w.order.Len() > w.size {
		oldest := w.order.Back()
		w.order.Remove(oldest)
		delete(w.ids, oldest.Value.(string))
	}
	return false
}

// frame is what unframe found in a value in the Confluent Schema Registry wire format.
type frame struct {
	schemaID uint32
	json     bool   // JSON text, not protobuf
	payload  []byte // what follows the schema id (JSON) or the message indexes (protobuf)
}

// unframe splits a value in the Confluent Schema Registry wire format (record_format =
// "confluent", the daemon's default):
//
//	0x00 | schema id: uint32, big-endian | message indexes | protobuf
//	0x00 | schema id: uint32, big-endian | JSON text        (ingest.encoding = "json")
//
// The message indexes (protobuf only) say which message of the schema's file the bytes
// are: zigzag varints, their count and then each index. mailhook writes [2], EmailEvent
// being the third message of email_event.proto (0x02 0x04); a lone 0x00 is Confluent's
// short form of [0]. This consumer knows what its topic carries and reads them only to
// find where the protobuf starts. JSON Schema values have no indexes: JSON text starts
// with '{'.
//
// nil and no error for a value that is not framed: its first byte is not 0x00 (a
// protobuf message never starts with 0x00, field number 0 being invalid, nor JSON text).
// An error for a frame cut short or with a bad varint.
func unframe(v []byte) (*frame, error) {
	if len(v) == 0 || v[0] != 0 {
		return nil, nil
	}
	if len(v) < 5 {
		return nil, fmt.Errorf("a framed value of %d bytes (at least 5)", len(v))
	}
	f := &frame{schemaID: binary.BigEndian.Uint32(v[1:5])}
	rest := v[5:]
	if len(rest) > 0 && rest[0] == '{' {
		f.json, f.payload = true, rest
		return f, nil
	}
	count, rest, err := readZigzagVarint(rest)
	if err != nil {
		return nil, err
	}
	if count < 0 || count > int32(len(rest)) {
		return nil, fmt.Errorf("a count of %d message indexes, %d bytes left", count, len(rest))
	}
	for range count {
		if _, rest, err = readZigzagVarint(rest); err != nil {
			return nil, err
		}
	}
	f.payload = rest
	return f, nil
}

// readZigzagVarint reads the zigzag varint (an int32: at most 5 bytes) at the start of b
// and returns it with the bytes after it: 0x00 is 0, 0x01 is -1, 0x02 is 1, 0x04 is 2, ...
func readZigzagVarint(b []byte) (int32, []byte, error) {
	v, n := binary.Varint(b[:min(len(b), 5)]) // Go's signed varints are zigzag too
	switch {
	case n <= 0 && len(b) < 5:
		return 0, nil, errors.New("a message index varint is cut short")
	case n <= 0:
		return 0, nil, errors.New("a message index varint is longer than 5 bytes")
	case v < -1<<31 || v >= 1<<31:
		return 0, nil, errors.New("a message index varint is out of int32's range")
	}
	return int32(v), b[n:], nil
}

// decode reads a record's EmailEvent, and the schema id it was framed with (nil when it
// was not framed), whichever record_format the daemon writes:
//
//	confluent  the value in the Confluent wire format (unframe), no headers
//	headers    a bare value, with the headers mailhook-event-id, mailhook-tenant and
//	           mailhook-schema ("mailhook.v1.EmailEvent", "+json" appended for JSON)
//	plain      a bare value, no headers
//
// A bare value is JSON (ingest.encoding = "json") when mailhook-schema ends in +json or
// the value starts with '{', else protobuf.
func decode(r *kgo.Record) (*mailhookv1.EmailEvent, *uint32, error) {
	f, err := unframe(r.Value)
	if err != nil {
		return nil, nil, err
	}
	var schemaID *uint32
	if f != nil {
		schemaID = &f.schemaID
	} else {
		f = &frame{payload: r.Value, json: len(r.Value) > 0 && r.Value[0] == '{'}
		for _, h := range r.Headers {
			if h.Key == "mailhook-schema" && strings.HasSuffix(string(h.Value), "+json") {
				f.json = true
			}
		}
	}
	event := &mailhookv1.EmailEvent{}
	if f.json {
		err = protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(f.payload, event)
	} else {
		err = proto.Unmarshal(f.payload, event)
	}
	return event, schemaID, err
}

type line struct {
	Type            string  `json:"type"`
	Event           string  `json:"event"`
	Tenant          string  `json:"tenant"`
	Email           string  `json:"email"`
	EmailNormalized string  `json:"email_normalized"`
	SgEventID       string  `json:"sg_event_id"`
	Timestamp       int64   `json:"timestamp"`
	SchemaID        *uint32 `json:"schema_id"` // null when the record was not framed
	Partition       int32   `json:"partition"`
	Offset          int64   `json:"offset"`
}

func process(out *json.Encoder, event *mailhookv1.EmailEvent, schemaID *uint32,
	r *kgo.Record) error {
	return out.Encode(line{
		Type: event.GetType().String(), Event: event.GetEvent(), Tenant: event.GetTenant(),
		Email: event.GetEmail(), EmailNormalized: event.GetEmailNormalized(),
		SgEventID: event.GetSgEventId(), Timestamp: event.GetTimestamp(),
		SchemaID: schemaID, Partition: r.Partition, Offset: r.Offset,
	})
}

func main() {
	bootstrap := flag.String("bootstrap", "", "Kafka bootstrap servers, comma-separated (required)")
	topic := flag.String("topic", "sendgrid.events", "the events topic")
	group := flag.String("group", "events-example", "consumer group id")
	dedupeSize := flag.Int("dedupe-size", 100_000, "how many sg_event_ids to remember")
	idleExit := flag.Duration("idle-exit", 0,
		"exit once nothing arrived for this long after the group gave partitions (0: run until SIGINT/SIGTERM)")
	flag.Parse()
	if *bootstrap == "" {
		fmt.Fprintln(os.Stderr, "events-consumer: -bootstrap is required")
		os.Exit(2)
	}
	if err := run(*bootstrap, *topic, *group, *dedupeSize, *idleExit); err != nil {
		fmt.Fprintln(os.Stderr, "events-consumer:", err)
		os.Exit(1)
	}
}

func run(bootstrap, topic, group string, dedupeSize int, idleExit time.Duration) error {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()

	var assigned atomic.Bool
	client, err := kgo.NewClient(
		kgo.SeedBrokers(strings.Split(bootstrap, ",")...),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		// Offsets are committed by hand, after processing (below).
		kgo.DisableAutoCommit(),
		// A new group starts at the oldest event the topic keeps.
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		// A rebalance waits until the records of a poll are processed and committed
		// (AllowRebalance), so no partition is revoked with work done and not committed.
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(func(context.Context, *kgo.Client, map[string][]int32) {
			assigned.Store(true)
		}),
	)
	if err != nil {
		return err
	}
	// Leaves the group, so that its partitions move at once.
	defer client.CloseAllowingRebalance()

	window := newDedupeWindow(dedupeSize)
	out := json.NewEncoder(os.Stdout)
	var processed, duplicates, undecodable int
	idleSince := time.Now()
	for ctx.Err() == nil {
		pollCtx, pollCancel := context.WithTimeout(ctx, 500*time.Millisecond)
		fetches := client.PollFetches(pollCtx)
		pollCancel()
		if fetches.IsClientClosed() {
			break
		}
		var fatal error
		fetches.EachError(func(t string, p int32, err error) {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				return
			}
			fmt.Fprintf(os.Stderr, "events-consumer: %s[%d]: %v\n", t, p, err)
			if !kgo.IsRetryableBrokerErr(err) {
				fatal = err
			}
		})
		if fatal != nil {
			client.AllowRebalance()
			return fatal
		}
		if fetches.NumRecords() == 0 {
			client.AllowRebalance()
			if !assigned.Load() {
				idleSince = time.Now()
			} else if idleExit > 0 && time.Since(idleSince) >= idleExit {
				break
			}
			continue
		}
		idleSince = time.Now()
		var processErr error
		fetches.EachRecord(func(r *kgo.Record) {
			if processErr != nil {
				return
			}
			event, schemaID, err := decode(r)
			if err != nil {
				undecodable++
				fmt.Fprintf(os.Stderr, "events-consumer: partition %d offset %d is not a mailhook.v1.EmailEvent, skipped: %v\n",
					r.Partition, r.Offset, err)
				return
			}
			if id := event.GetSgEventId(); id != "" && window.seen(id) {
				duplicates++
				return
			}
			if processErr = process(out, event, schemaID, r); processErr == nil {
				processed++
			}
		})
		if processErr != nil {
			client.AllowRebalance()
			return processErr // nothing of this poll is committed: it is read again
		}
		// Every record of this poll is processed: commit the offsets past them.
		if err := client.CommitUncommittedOffsets(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "events-consumer: commit failed:", err)
		}
		client.AllowRebalance()
	}
	fmt.Fprintf(os.Stderr, "events-consumer: processed %d, skipped %d duplicates, %d undecodable\n",
		processed, duplicates, undecodable)
	return nil
}
