package producer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/court12368/petitiond/config"
)

// leaderlessCluster is an in-process broker whose partition 1 of topic
// answers every produce with NOT_LEADER_OR_FOLLOWER, as a partition whose
// leader died answers until the controller moves it. (kfake cannot take a
// partition's leader away; the fault is what a producer sees meanwhile.)
func leaderlessCluster(t *testing.T) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	c.Fault(kfake.Fault{
		Keys: []kmsg.Key{kmsg.Produce}, Topic: topic, Partitions: []int32{1},
		Err: kerr.NotLeaderForPartition, Count: -1,
	})
	return c
}

func newTestProducer(t *testing.T, c *kfake.Cluster, partitioning string) *KafkaProducer {
	t.Helper()
	kc := config.Defaults().Kafka
	kc.Partitioning = partitioning
	kc.BatchTimeout = config.Duration(time.Millisecond)
	kc.WriteTimeout = config.Duration(3 * time.Second)
	p, err := NewKafkaProducer(kc, c.ListenAddrs(), topic, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func produceOne(p *KafkaProducer, m Message) error {
	ch := make(chan error, 1)
	p.Produce([]Message{m}, func(err error) { ch <- err })
	return <-ch
}

// keyTo returns a key that murmur2 sends to partition part of three.
func keyTo(t *testing.T, part int, from int) (string, int) {
	for i := from; i < from+1000; i++ {
		k := fmt.Sprintf("web-%d", i)
		if kafka3(k) == part {
			return k, i + 1
		}
	}
	t.Fatal("no key found")
	return "", 0
}

func kafka3(k string) int {
	return newBalancer(PartitionKey, newPartitionHealth()).choose(kafkaMsg(k), nil, []int{0, 1, 2})
}

func TestLeaderlessPartitionIsAvoided(t *testing.T) {
	c := leaderlessCluster(t)
	p := newTestProducer(t, c, PartitionHealthy)

	// The first petition murmur2 sends to partition 1 fails there (after
	// the writer's retries): nothing marked the partition before.
	id, next := keyTo(t, 1, 0)
	if err := produceOne(p, Message{Topic: topic, Key: []byte(id), Value: []byte("{}")}); err == nil {
		t.Fatal("the first record on the leaderless partition succeeded")
	}
	if !p.Healthy() {
		t.Fatal("one partition's failure made the producer refuse all intake")
	}
	// From then on petitions keyed by their id go elsewhere at once.
	for range 20 {
		var id string
		id, next = keyTo(t, 1, next)
		start := time.Now()
		if err := produceOne(p, Message{Topic: topic, Key: []byte(id), Value: []byte("{}")}); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s took %v", id, d)
		}
	}
	// A record keyed by a rule stays with its partition and waits.
	if err := produceOne(p, Message{Topic: topic, Key: []byte(id), Keyed: true, Value: []byte("{}")}); err == nil {
		t.Fatal("a keyed record left its partition")
	}
}

func TestPartitioningKeyWaitsForTheLeader(t *testing.T) {
	c := leaderlessCluster(t)
	p := newTestProducer(t, c, PartitionKey)
	next := 0
	for range 2 {
		var id string
		id, next = keyTo(t, 1, next)
		if err := produceOne(p, Message{Topic: topic, Key: []byte(id), Value: []byte("{}")}); err == nil {
			t.Fatalf("%s: partitioning key moved a record off its partition", id)
		}
	}
	if p.Healthy() {
		t.Fatal("partitioning key: a leaderless partition did not make the producer unhealthy (until the probe says otherwise)")
	}
}

func kafkaMsg(k string) kafka.Message { return kafka.Message{Topic: topic, Key: []byte(k)} }

// The probe (readiness) is content with one serving partition per topic
// under partitioning healthy, and marks the others; under key every
// partition must serve.
func TestProbeWithOnePartitionNotServing(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, topic))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Fault(kfake.Fault{
		Keys: []kmsg.Key{kmsg.ListOffsets}, Topic: topic, Partitions: []int32{1},
		Err: kerr.NotLeaderForPartition, Count: -1,
	})
	healthy := newTestProducer(t, c, PartitionHealthy)
	if err := healthy.Ping(context.Background()); err != nil {
		t.Fatalf("partitioning healthy: Ping = %v, want ready", err)
	}
	if healthy.parts.healthy(topic, 1) || !healthy.parts.healthy(topic, 0) {
		t.Fatal("the probe did not mark (only) the partition whose leader does not serve it")
	}
	key := newTestProducer(t, c, PartitionKey)
	if err := key.Ping(context.Background()); !errors.Is(err, errNotServing) {
		t.Fatalf("partitioning key: Ping = %v, want errNotServing", err)
	}
}
