package testutil

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ReadTopic reads topic from its start until want records arrived or
// within passed, and returns what it read.
func ReadTopic(brokers []string, topic string, want int, within time.Duration) ([]*kgo.Record, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	var out []*kgo.Record
	for len(out) < want && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	return out, nil
}

// ReadAll reads every record of topic up to its end offsets (as of now).
func ReadAll(brokers []string, topic string, within time.Duration) ([]*kgo.Record, error) {
	n, err := EndOffsets(brokers, topic)
	if err != nil {
		return nil, err
	}
	recs, err := ReadTopic(brokers, topic, int(n), within)
	if err == nil && int64(len(recs)) < n {
		err = fmt.Errorf("read %d of the %d records of %s within %v", len(recs), n, topic, within)
	}
	return recs, err
}

// EndOffsets returns the sum of the end offsets of topic's partitions: the
// number of records ever produced to it.
func EndOffsets(brokers []string, topic string) (int64, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offs, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		return 0, fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	var total int64
	var perr error
	offs.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			perr = o.Err
			return
		}
		total += o.Offset
	})
	if perr != nil && total == 0 {
		return 0, fmt.Errorf("end offsets of %s: %w", topic, perr)
	}
	return total, nil
}

// WaitTopic waits until topic exists with partitions (petitiond creates
// its topics at start).
func WaitTopic(brokers []string, topic string, within time.Duration) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	var last error
	ok := Eventually(within, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		md, err := adm.Metadata(ctx, topic)
		if err != nil {
			last = err
			return false
		}
		t, found := md.Topics[topic]
		if !found || t.Err != nil || len(t.Partitions) == 0 {
			last = fmt.Errorf("topic %s: %v", topic, t.Err)
			return false
		}
		return true
	})
	if !ok {
		return fmt.Errorf("topic %s not created within %v: %v", topic, within, last)
	}
	return nil
}
