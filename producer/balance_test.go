package producer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	metadataAPI "github.com/segmentio/kafka-go/protocol/metadata"
	produceAPI "github.com/segmentio/kafka-go/protocol/produce"
)

const topic = "petitions.intake"

var six = []int{0, 1, 2, 3, 4, 5}

func pick(b *balancer, id string, keyed bool) int {
	return b.Balance(kafka.Message{Topic: topic, Key: []byte(id), WriterData: &writerData{keyed: keyed}}, six...)
}

func murmur(id string) int {
	return kafka.Murmur2Balancer{}.Balance(kafka.Message{Key: []byte(id)}, six...)
}

func TestBalancerAllHealthyIsMurmur2(t *testing.T) {
	b := newBalancer(PartitionHealthy, newPartitionHealth())
	for i := range 2000 {
		id := fmt.Sprintf("web-%d", i)
		if got, want := pick(b, id, false), murmur(id); got != want {
			t.Fatalf("%s: partition %d, murmur2 says %d", id, got, want)
		}
	}
}

func TestBalancerAvoidsLeaderless(t *testing.T) {
	h := newPartitionHealth()
	h.setLeaderless(topic, 2, true)
	h.produced(topic, 5, kafka.NotLeaderForPartition)
	h.setLeaderless("other", 1, true) // another topic's partition 1 is not this one's
	b := newBalancer(PartitionHealthy, h)
	count := map[int]int{}
	for i := range 6000 {
		id := fmt.Sprintf("web-%d", i)
		got := pick(b, id, false)
		if got == 2 || got == 5 {
			t.Fatalf("%s went to leaderless partition %d", id, got)
		}
		if m := murmur(id); m != 2 && m != 5 && got != m {
			t.Fatalf("%s moved from healthy partition %d to %d", id, m, got)
		}
		count[got]++
	}
	// The displaced third spreads over the four others: each gets about
	// 1/4 of 6000 (1000 by murmur2 + 500 displaced).
	for _, p := range []int{0, 1, 3, 4} {
		if count[p] < 1200 || count[p] > 1800 {
			t.Errorf("partition %d got %d of 6000: %v", p, count[p], count)
		}
	}
}

func TestBalancerNoneHealthyFallsBackToMurmur2(t *testing.T) {
	h := newPartitionHealth()
	for _, p := range six {
		h.setLeaderless(topic, p, true)
	}
	b := newBalancer(PartitionHealthy, h)
	for i := range 500 {
		id := fmt.Sprintf("web-%d", i)
		if got, want := pick(b, id, false), murmur(id); got != want {
			t.Fatalf("%s: partition %d, murmur2 says %d", id, got, want)
		}
	}
}

func TestBalancerKeyedAndKeyModeIgnoreHealth(t *testing.T) {
	h := newPartitionHealth()
	h.setLeaderless(topic, 2, true)
	h.setLeaderless(topic, 5, true)
	healthy := newBalancer(PartitionHealthy, h)
	key := newBalancer(PartitionKey, h)
	landed := 0
	for i := range 1000 {
		id := fmt.Sprintf("petitioner-%d", i)
		want := murmur(id)
		if got := pick(healthy, id, true); got != want {
			t.Fatalf("keyed %s: partition %d, murmur2 says %d", id, got, want)
		}
		if got := pick(key, id, false); got != want {
			t.Fatalf("mode key, %s: partition %d, murmur2 says %d", id, got, want)
		}
		if want == 2 || want == 5 {
			landed++
		}
	}
	if landed == 0 {
		t.Fatal("no key hashed to a leaderless partition: the test proves nothing")
	}
}

func TestHealthFromProduceErrors(t *testing.T) {
	now := time.Unix(1000, 0)
	h := newPartitionHealth()
	h.now = func() time.Time { return now }
	marks := 0
	h.onMark = func() { marks++ }

	for _, err := range []error{kafka.MessageSizeTooLarge, kafka.TopicAuthorizationFailed, kafka.InvalidRecord} {
		h.produced(topic, 1, err)
		if !h.healthy(topic, 1) {
			t.Fatalf("%v marked the partition: another partition would not help", err)
		}
	}
	for _, err := range []error{
		kafka.NotLeaderForPartition, kafka.LeaderNotAvailable, kafka.RequestTimedOut, kafka.NotEnoughReplicas,
		&net.OpError{Op: "dial", Err: errors.New("connection refused")}, context.DeadlineExceeded,
		fmt.Errorf("wrapped: %w", kafka.NotLeaderForPartition),
	} {
		h2 := newPartitionHealth()
		h2.produced(topic, 1, err)
		if h2.healthy(topic, 1) {
			t.Errorf("%v did not mark the partition", err)
		}
	}

	h.produced(topic, 1, kafka.NotLeaderForPartition)
	h.produced(topic, 1, kafka.NotLeaderForPartition)
	if h.healthy(topic, 1) || !h.healthy(topic, 0) {
		t.Fatal("only partition 1 should be avoided")
	}
	if marks != 1 {
		t.Fatalf("re-probe asked %d times, want once per marking", marks)
	}
	// Metadata naming a leader does not end the hold: it may be stale.
	h.setLeaderless(topic, 1, false)
	if h.healthy(topic, 1) {
		t.Fatal("metadata ended a produce error's hold")
	}
	now = now.Add(errorHold)
	if !h.healthy(topic, 1) {
		t.Fatal("still avoided after the hold")
	}
	// A success ends it at once.
	h.produced(topic, 1, kafka.RequestTimedOut)
	h.produced(topic, 1, nil)
	if !h.healthy(topic, 1) {
		t.Fatal("still avoided after a successful produce")
	}
	if len(h.parts) != 0 {
		t.Fatalf("entries left: %v", h.parts)
	}
}

func TestHealthFromMetadata(t *testing.T) {
	h := newPartitionHealth()
	b1 := kafka.Broker{Host: "b1", Port: 9092, ID: 1}
	md := &kafka.MetadataResponse{Topics: []kafka.Topic{{Name: topic, Partitions: []kafka.Partition{
		{Topic: topic, ID: 0, Leader: b1},
		{Topic: topic, ID: 1, Leader: kafka.Broker{ID: -1}},
		{Topic: topic, ID: 2, Leader: b1, Error: kafka.LeaderNotAvailable},
	}}}}
	h.fromMetadata(md)
	if !h.healthy(topic, 0) || h.healthy(topic, 1) || h.healthy(topic, 2) {
		t.Fatalf("after metadata: %v %v %v", h.healthy(topic, 0), h.healthy(topic, 1), h.healthy(topic, 2))
	}
	md.Topics[0].Partitions[1].Leader = b1
	md.Topics[0].Partitions[2].Error = nil
	h.fromMetadata(md)
	if !h.healthy(topic, 1) || !h.healthy(topic, 2) {
		t.Fatal("a leader is back but the partition is still avoided")
	}
}

// fakeTransport answers the writer's requests from functions.
type fakeTransport struct {
	mu  sync.Mutex
	fn  func(kafka.Request) (kafka.Response, error)
	got []kafka.Request
}

func (f *fakeTransport) RoundTrip(_ context.Context, _ net.Addr, req kafka.Request) (kafka.Response, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, req)
	return f.fn(req)
}

func TestWatchTransport(t *testing.T) {
	h := newPartitionHealth()
	ft := &fakeTransport{}
	w := &watchTransport{next: ft, health: h}
	ctx := context.Background()

	ft.fn = func(kafka.Request) (kafka.Response, error) {
		return &metadataAPI.Response{
			Brokers: []metadataAPI.ResponseBroker{{NodeID: 1, Host: "b1", Port: 9092}},
			Topics: []metadataAPI.ResponseTopic{{Name: topic, Partitions: []metadataAPI.ResponsePartition{
				{PartitionIndex: 0, LeaderID: 1},
				{PartitionIndex: 1, LeaderID: -1, ErrorCode: 5},
				{PartitionIndex: 2, LeaderID: 3}, // a broker the answer does not list
			}}},
		}, nil
	}
	if _, err := w.RoundTrip(ctx, nil, &metadataAPI.Request{TopicNames: []string{topic}}); err != nil {
		t.Fatal(err)
	}
	if !h.healthy(topic, 0) || h.healthy(topic, 1) || h.healthy(topic, 2) {
		t.Fatalf("after metadata: %v %v %v", h.healthy(topic, 0), h.healthy(topic, 1), h.healthy(topic, 2))
	}

	produce := func(p int32) *produceAPI.Request {
		return &produceAPI.Request{Topics: []produceAPI.RequestTopic{{Topic: topic, Partitions: []produceAPI.RequestPartition{{Partition: p}}}}}
	}
	ft.fn = func(kafka.Request) (kafka.Response, error) {
		return &produceAPI.Response{Topics: []produceAPI.ResponseTopic{{Topic: topic, Partitions: []produceAPI.ResponsePartition{{Partition: 3, ErrorCode: 6}}}}}, nil
	}
	_, _ = w.RoundTrip(ctx, nil, produce(3))
	if h.healthy(topic, 3) {
		t.Fatal("NOT_LEADER_OR_FOLLOWER on partition 3 did not mark it")
	}
	ft.fn = func(kafka.Request) (kafka.Response, error) {
		return nil, &net.OpError{Op: "dial", Err: errors.New("connection refused")}
	}
	_, _ = w.RoundTrip(ctx, nil, produce(4))
	if h.healthy(topic, 4) {
		t.Fatal("a refused connection to partition 4's leader did not mark it")
	}
	ft.fn = func(kafka.Request) (kafka.Response, error) {
		return &produceAPI.Response{Topics: []produceAPI.ResponseTopic{{Topic: topic, Partitions: []produceAPI.ResponsePartition{{Partition: 3}}}}}, nil
	}
	_, _ = w.RoundTrip(ctx, nil, produce(3))
	if !h.healthy(topic, 3) {
		t.Fatal("a successful produce on partition 3 did not clear it")
	}
}

func TestHealthSlowPartition(t *testing.T) {
	now := time.Unix(1000, 0)
	h := newPartitionHealth()
	h.now = func() time.Time { return now }
	h.sending(topic, 2)
	if !h.healthy(topic, 2) {
		t.Fatal("a request just sent made the partition unhealthy")
	}
	now = now.Add(slowAfter)
	if h.healthy(topic, 2) || !h.healthy(topic, 1) {
		t.Fatal("a request outstanding for slowAfter did not make (only) its partition avoided")
	}
	h.produced(topic, 2, nil)
	if !h.healthy(topic, 2) || len(h.parts) != 0 {
		t.Fatalf("answered, but still avoided (%v)", h.parts)
	}
	// A hung leader's request ends in a timeout: avoided for errorHold.
	h.sending(topic, 2)
	now = now.Add(10 * time.Second)
	h.produced(topic, 2, context.DeadlineExceeded)
	if h.healthy(topic, 2) {
		t.Fatal("a timed-out request did not mark the partition")
	}
	// An error about the records (not the leader) ends the request only.
	h.sending(topic, 3)
	now = now.Add(slowAfter)
	h.produced(topic, 3, kafka.MessageSizeTooLarge)
	if !h.healthy(topic, 3) {
		t.Fatal("an answered request left the partition avoided")
	}
}
