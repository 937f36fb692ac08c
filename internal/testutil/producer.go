package testutil

import (
	"sync"

	"github.com/court12368/petitiond/producer"
)

// FakeProducer is an in-memory producer.Producer. With Hold set, batches wait
// until Release; with Fail set, every batch fails.
type FakeProducer struct {
	mu      sync.Mutex
	healthy bool
	pending []pendingBatch
	got     []producer.Message
	Fail    error
	Hold    bool
	// Notify, when not nil, receives a value for every Produce call.
	Notify chan struct{}
}

type pendingBatch struct {
	msgs []producer.Message
	done func(error)
}

// NewFakeProducer returns a healthy fake producer.
func NewFakeProducer() *FakeProducer { return &FakeProducer{healthy: true} }

// Produce implements producer.Producer.
func (f *FakeProducer) Produce(msgs []producer.Message, done func(error)) {
	if f.Notify != nil {
		defer func() { f.Notify <- struct{}{} }()
	}
	f.mu.Lock()
	if f.Hold {
		f.pending = append(f.pending, pendingBatch{msgs, done})
		f.mu.Unlock()
		return
	}
	err := f.Fail
	if err == nil {
		f.got = append(f.got, msgs...)
	}
	f.mu.Unlock()
	go done(err)
}

// Release completes the held batches with err.
func (f *FakeProducer) Release(err error) {
	f.mu.Lock()
	ps := f.pending
	f.pending = nil
	if err == nil {
		for _, p := range ps {
			f.got = append(f.got, p.msgs...)
		}
	}
	f.mu.Unlock()
	for _, p := range ps {
		p.done(err)
	}
}

// Set changes the health and failure mode.
func (f *FakeProducer) Set(healthy bool, fail error) {
	f.mu.Lock()
	f.healthy, f.Fail = healthy, fail
	f.mu.Unlock()
}

// Messages returns what was produced so far.
func (f *FakeProducer) Messages() []producer.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]producer.Message(nil), f.got...)
}

// Healthy implements producer.Producer.
func (f *FakeProducer) Healthy() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.healthy }

// Close implements producer.Producer.
func (f *FakeProducer) Close() error { return nil }
