// Command events-consumer reads mailhook's events topic (sendgrid.events) in a consumer
// group, decodes each record as mailhook.v1.EmailEvent, skips events whose sg_event_id it
// has already processed, and commits the group's offsets only after the records of a
// poll are processed. Processing here is printing one JSON line per event on stdout; put
// your own in process().
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

// decode reads a record's EmailEvent: protobuf, or JSON when its mailhook-schema header
// ends in +json (ingest.encoding = "json").
func decode(r *kgo.Record) (*mailhookv1.EmailEvent, error) {
	event := &mailhookv1.EmailEvent{}
	for _, h := range r.Headers {
		if h.Key == "mailhook-schema" && strings.HasSuffix(string(h.Value), "+json") {
			return event, protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(r.Value, event)
		}
	}
	return event, proto.Unmarshal(r.Value, event)
}

type line struct {
	Type            string `json:"type"`
	Event           string `json:"event"`
	Tenant          string `json:"tenant"`
	Email           string `json:"email"`
	EmailNormalized string `json:"email_normalized"`
	SgEventID       string `json:"sg_event_id"`
	Timestamp       int64  `json:"timestamp"`
	Partition       int32  `json:"partition"`
	Offset          int64  `json:"offset"`
}

func process(out *json.Encoder, event *mailhookv1.EmailEvent, r *kgo.Record) error {
	return out.Encode(line{
		Type: event.GetType().String(), Event: event.GetEvent(), Tenant: event.GetTenant(),
		Email: event.GetEmail(), EmailNormalized: event.GetEmailNormalized(),
		SgEventID: event.GetSgEventId(), Timestamp: event.GetTimestamp(),
		Partition: r.Partition, Offset: r.Offset,
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
			event, err := decode(r)
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
			if processErr = process(out, event, r); processErr == nil {
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
