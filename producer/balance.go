package producer

import (
	"context"
	"errors"
	"hash/fnv"
	"io"
	"net"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	metadataAPI "github.com/segmentio/kafka-go/protocol/metadata"
	produceAPI "github.com/segmentio/kafka-go/protocol/produce"
)

// Partitioning modes (config kafka.partitioning).
const (
	// PartitionHealthy sends records keyed by the petition id to a
	// partition with a live leader.
	PartitionHealthy = "healthy"
	// PartitionKey hashes every key over all partitions.
	PartitionKey = "key"
)

// errorHold is how long a partition stays avoided after a produce to it
// failed for want of a leader. Metadata saying it has a leader does not end
// it sooner: the writer's metadata is cached (MetadataTTL) and a dead
// leader stays named in it until the controller notices. A produce that
// succeeds on the partition (a retried batch, a keyed record) ends it.
const errorHold = 10 * time.Second

// slowAfter is how long a produce request to a partition may be
// outstanding before the partition is avoided while it stays outstanding:
// a leader that hangs rather than refuses fails a request only after
// kafka.write_timeout, and records sent there meanwhile would wait too.
// acks=all requests normally take milliseconds.
const slowAfter = 2 * time.Second

// writerData rides in kafka.Message.WriterData: the caller's tracker and
// the "keyed by a rule" bit the balancer reads.
type writerData struct {
	t     *tracker
	keyed bool
}

type topicPartition struct {
	topic     string
	partition int
}

type partState struct {
	leaderless bool      // the last metadata seen named no leader (or an error)
	errUntil   time.Time // a produce failed for want of a leader until then
	inflight   int       // produce requests outstanding (kafka-go sends one at a time)
	since      time.Time // when the oldest outstanding one was sent
}

func (s *partState) ok(now time.Time) bool {
	return !s.leaderless && !now.Before(s.errUntil) && (s.inflight == 0 || now.Sub(s.since) < slowAfter)
}

func (s *partState) idle(now time.Time) bool {
	return !s.leaderless && !now.Before(s.errUntil) && s.inflight == 0
}

// partitionHealth is the producer's view of which partitions have a live
// leader, from metadata (the writer's and the probe's) and from the results
// of produce requests.
type partitionHealth struct {
	now func() time.Time
	// onMark is called (outside the lock) when a partition becomes
	// avoided because of a produce error: the producer re-probes.
	onMark func()

	mu    sync.RWMutex
	parts map[topicPartition]*partState
}

func newPartitionHealth() *partitionHealth {
	return &partitionHealth{now: time.Now, parts: map[topicPartition]*partState{}}
}

// healthy reports whether records may go to the partition.
func (h *partitionHealth) healthy(topic string, partition int) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if len(h.parts) == 0 {
		return true
	}
	s := h.parts[topicPartition{topic, partition}]
	return s == nil || s.ok(h.now())
}

// state returns the entry of a partition, creating it. Callers hold mu.
func (h *partitionHealth) state(topic string, partition int) *partState {
	k := topicPartition{topic, partition}
	s := h.parts[k]
	if s == nil {
		s = &partState{}
		h.parts[k] = s
	}
	return s
}

// drop removes an entry with nothing left to say. Callers hold mu.
func (h *partitionHealth) drop(topic string, partition int) {
	k := topicPartition{topic, partition}
	if s := h.parts[k]; s != nil && s.idle(h.now()) {
		delete(h.parts, k)
	}
}

// setLeaderless records what metadata says of a partition.
func (h *partitionHealth) setLeaderless(topic string, partition int, leaderless bool) {
	// The writer asks for metadata for every record (from the transport's
	// cache): take the write lock only for a change.
	h.mu.RLock()
	s := h.parts[topicPartition{topic, partition}]
	same := (s == nil && !leaderless) || (s != nil && s.leaderless == leaderless)
	h.mu.RUnlock()
	if same {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if leaderless {
		h.state(topic, partition).leaderless = true
		return
	}
	if s := h.parts[topicPartition{topic, partition}]; s != nil {
		s.leaderless = false
		h.drop(topic, partition)
	}
}

// sending records that a produce request to a partition is on its way.
func (h *partitionHealth) sending(topic string, partition int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.state(topic, partition)
	if s.inflight == 0 {
		s.since = h.now()
	}
	s.inflight++
}

// produced records the result of one produce attempt on a partition (after
// sending, if the request was announced).
func (h *partitionHealth) produced(topic string, partition int, err error) {
	h.mu.Lock()
	s := h.parts[topicPartition{topic, partition}]
	if s != nil && s.inflight > 0 {
		s.inflight--
	}
	if err == nil || !leaderTrouble(err) {
		// A request the partition answered, even with an error about
		// the records, says its leader serves.
		if s != nil && err == nil {
			s.errUntil = time.Time{}
		}
		h.drop(topic, partition)
		h.mu.Unlock()
		return
	}
	s = h.state(topic, partition)
	was := h.now().Before(s.errUntil)
	s.errUntil = h.now().Add(errorHold)
	h.mu.Unlock()
	if !was && h.onMark != nil {
		h.onMark()
	}
}

// hold makes the balancer avoid a partition for errorHold, as a failed
// produce would (the probe found its leader not serving it).
func (h *partitionHealth) hold(topic string, partition int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.state(topic, partition).errUntil = h.now().Add(errorHold)
}

// fromMetadata records what a metadata answer says of each partition of
// the topics it names.
func (h *partitionHealth) fromMetadata(md *kafka.MetadataResponse) {
	for _, t := range md.Topics {
		if t.Error != nil {
			continue
		}
		for _, p := range t.Partitions {
			h.setLeaderless(t.Name, p.ID, p.Error != nil || p.Leader.Host == "")
		}
	}
}

// fromMetadataAPI is fromMetadata for the protocol-level answer the writer
// gets through the transport.
func (h *partitionHealth) fromMetadataAPI(md *metadataAPI.Response) {
	known := func(id int32) bool {
		for _, b := range md.Brokers {
			if b.NodeID == id {
				return b.Host != ""
			}
		}
		return false
	}
	for _, t := range md.Topics {
		if t.ErrorCode != 0 {
			continue
		}
		for _, p := range t.Partitions {
			h.setLeaderless(t.Name, int(p.PartitionIndex), p.ErrorCode != 0 || p.LeaderID < 0 || !known(p.LeaderID))
		}
	}
}

// leaderTrouble tells the produce errors that mean the partition's leader
// is gone, moving or unreachable, from those about the records or the
// topic (too large, not authorized), which another partition would not fix.
func leaderTrouble(err error) bool {
	var ke kafka.Error
	if errors.As(err, &ke) {
		switch ke {
		case kafka.NotLeaderForPartition, kafka.LeaderNotAvailable, kafka.RequestTimedOut,
			kafka.BrokerNotAvailable, kafka.ReplicaNotAvailable, kafka.NetworkException,
			kafka.NotEnoughReplicas, kafka.NotEnoughReplicasAfterAppend, kafka.KafkaStorageError:
			return true
		}
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// balancer is the Writer's Balancer. Every record's candidate is murmur2 of
// its key over all partitions (what Java clients choose). Records keyed by
// a rule, and all records in PartitionKey mode, go there. A record keyed by
// the petition id goes there too while the partition has a live leader;
// otherwise to one of the partitions that have one (a second hash of the
// key, so the displaced share spreads evenly), or to the candidate when
// none has.
type balancer struct {
	mode   string
	health *partitionHealth
	hash   kafka.Murmur2Balancer // Consistent: a nil key hashes like an empty one
}

func newBalancer(mode string, health *partitionHealth) *balancer {
	return &balancer{mode: mode, health: health, hash: kafka.Murmur2Balancer{Consistent: true}}
}

func (b *balancer) Balance(msg kafka.Message, partitions ...int) int {
	wd, _ := msg.WriterData.(*writerData)
	return b.choose(msg, wd, partitions)
}

func (b *balancer) choose(msg kafka.Message, wd *writerData, partitions []int) int {
	p := b.hash.Balance(msg, partitions...)
	if b.mode == PartitionKey || (wd != nil && wd.keyed) || b.health.healthy(msg.Topic, p) {
		return p
	}
	var ok []int
	for _, q := range partitions {
		if b.health.healthy(msg.Topic, q) {
			ok = append(ok, q)
		}
	}
	if len(ok) == 0 {
		return p // none has a leader: wait where the key says
	}
	f := fnv.New32a()
	f.Write(msg.Key)
	return ok[f.Sum32()%uint32(len(ok))]
}

// watchTransport passes the writer's requests to the transport and feeds
// partitionHealth from what comes back: metadata (the writer asks for it,
// from the transport's cache, before choosing partitions) and every
// produce attempt's result per partition, so that a partition is avoided
// from its first failed attempt, not only once kafka-go gave up the batch.
type watchTransport struct {
	next   kafka.RoundTripper
	health *partitionHealth
}

func (w *watchTransport) RoundTrip(ctx context.Context, addr net.Addr, req kafka.Request) (kafka.Response, error) {
	if r, ok := req.(*produceAPI.Request); ok {
		for _, t := range r.Topics {
			for _, p := range t.Partitions {
				w.health.sending(t.Topic, int(p.Partition))
			}
		}
	}
	res, err := w.next.RoundTrip(ctx, addr, req)
	switch r := req.(type) {
	case *metadataAPI.Request:
		if md, ok := res.(*metadataAPI.Response); ok && err == nil {
			w.health.fromMetadataAPI(md)
		}
	case *produceAPI.Request:
		pr, _ := res.(*produceAPI.Response)
		for _, t := range r.Topics {
			for _, p := range t.Partitions {
				w.health.produced(t.Topic, int(p.Partition), producePartitionErr(pr, err, t.Topic, p.Partition))
			}
		}
	}
	return res, err
}

// producePartitionErr is the outcome of one partition in a produce round
// trip: the transport's error, else the partition's error code.
func producePartitionErr(res *produceAPI.Response, err error, topic string, partition int32) error {
	if err != nil {
		return err
	}
	if res == nil {
		return nil
	}
	for _, t := range res.Topics {
		if t.Topic != topic {
			continue
		}
		for _, p := range t.Partitions {
			if p.Partition == partition && p.ErrorCode != 0 {
				return kafka.Error(p.ErrorCode)
			}
		}
	}
	return nil
}
