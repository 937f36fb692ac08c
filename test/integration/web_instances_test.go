package integration

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestWebTwoInstancesKill: two daemons with the same web channel on two
// ports, as behind a load balancer, take petitions from clients that post
// to either and, on a refused connection or a 503, post the same petition
// with the same Idempotency-Key to the other — what a balancer's retry
// does. One instance is SIGKILLed mid-load and started again: the other
// goes on meanwhile, every petition answered 201 is in Kafka with the
// content posted, and no petition has two ids, whichever instance (or
// both) answered it.
func TestWebTwoInstancesKill(t *testing.T) {
	kafka := broker(t)
	a := newEnv(t, kafka, "")
	b := newEnv(t, kafka, "")
	shareTopics(a, b)
	a.start()
	b.start()
	instances := []*env{a, b}

	type outcome struct {
		content string
		ids     map[string]bool // ids of every 201 for this key
		tries   int
	}
	var mu sync.Mutex
	byKey := map[string]*outcome{}
	var answeredByB sync.WaitGroup
	answeredByB.Add(1)
	var bAnswered sync.Once
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := 0; c < 4; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key := fmt.Sprintf("lb-%d-%d-%s", c, i, randomSuffix())
				body := map[string]string{}
				for k, v := range fields {
					body[k] = v
				}
				body["content"] = fmt.Sprintf("%s（第%d位来访者第%d件）", fields["content"], c, i)
				js, _ := json.Marshal(body)
				o := &outcome{content: body["content"], ids: map[string]bool{}}
				mu.Lock()
				byKey[key] = o
				mu.Unlock()
				for try, n := (c+i)%2, 0; n < 200; try, n = try+1, n+1 {
					e := instances[try%2]
					r, err := e.post("application/json", js, map[string]string{"Idempotency-Key": key})
					mu.Lock()
					o.tries++
					if err == nil && r.Status == 201 {
						o.ids[r.ID] = true
					}
					mu.Unlock()
					if err == nil && r.Status == 201 {
						if e == b {
							bAnswered.Do(answeredByB.Done)
						}
						break
					}
					if err == nil && r.Status != 503 {
						t.Errorf("key %s: %d %s", key, r.Status, r.Error)
						break
					}
					time.Sleep(50 * time.Millisecond) // the balancer's retry delay
				}
			}
		}(c)
	}
	if len(consume(t, a.brokers, a.topic, 50, 60*time.Second)) < 50 {
		t.Fatalf("fewer than 50 records before the kill\n%s", a.logs())
	}
	a.kill()
	killed := time.Now()
	// b goes on alone: petitions keep being answered while a is dead.
	before := len(consumeAll(t, a.brokers, a.topic))
	if !waitMore(t, a, before+50, 60*time.Second) {
		t.Fatalf("b did not go on while a was dead\n%s", b.logs())
	}
	t.Logf("50 more records %v after a was killed, through b alone", time.Since(killed).Round(10*time.Millisecond))
	a.start()
	restarted := len(consumeAll(t, a.brokers, a.topic))
	if !waitMore(t, a, restarted+50, 60*time.Second) {
		t.Fatalf("no progress after a's restart\n%s", a.logs())
	}
	close(stop)
	wg.Wait()
	answeredByB.Wait()

	recs := consumeAll(t, a.brokers, a.topic)
	content := map[string][]string{} // id → contents of its records
	for _, r := range recs {
		c, _ := r.Value["content"].(string)
		content[r.Key] = append(content[r.Key], c)
	}
	var answered, twoIDs, missing, changed, dupes int
	for key, o := range byKey {
		if len(o.ids) == 0 {
			continue // never answered: stopped mid-petition
		}
		answered++
		if len(o.ids) > 1 {
			twoIDs++
			t.Errorf("key %s answered with %d ids: %v", key, len(o.ids), o.ids)
		}
		for id := range o.ids {
			cs := content[id]
			if len(cs) == 0 {
				missing++
				t.Errorf("key %s: id %s answered 201, not in Kafka", key, id)
			}
			dupes += max(0, len(cs)-1)
			for _, c := range cs {
				if c != o.content {
					changed++
					t.Errorf("id %s: content %q, posted %q", id, c, o.content)
				}
			}
		}
	}
	t.Logf("%d petitions answered 201 by two instances (one SIGKILLed and restarted), %d records: lost %d, two ids %d, changed %d, duplicates (same id) %d",
		answered, len(recs), missing, twoIDs, changed, dupes)
	if answered == 0 {
		t.Fatal("nothing answered")
	}
}

// waitMore waits until e's topic holds at least n records.
func waitMore(t *testing.T, e *env, n int, within time.Duration) bool {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if len(consumeAll(t, e.brokers, e.topic)) >= n {
			return true
		}
		time.Sleep(200 * time.Millisecond)
	}
	return false
}
