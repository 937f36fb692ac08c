//go:build cluster

// Package cluster runs the built petitiond binary against a three-broker
// KRaft cluster (scripts/kafka-cluster.sh: RF 3, min.insync.replicas=2)
// and kills, restarts and rolls the brokers under load (make test-cluster).
//
// PETITIOND_KAFKA_CLUSTER names the brokers (comma separated) and
// PETITIOND_KAFKA_CLUSTER_SCRIPT the script that kills and restarts them.
// Without them the tests skip — except under CI=true, where a missing
// cluster is a failure.
package cluster

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/court12368/petitiond/internal/testutil"
)

var binary string

func TestMain(m *testing.M) { testutil.MainWithDaemon(m, "petitiond-cluster-", &binary) }

// cluster is the three-broker cluster under test.
type cluster struct {
	t       *testing.T
	brokers []string
	script  string
	adm     *kadm.Client
}

// newCluster returns the cluster named by the environment, skipping (or
// failing under CI=true) when there is none.
func newCluster(t *testing.T) *cluster {
	t.Helper()
	missing := func(why string) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Kafka cluster required in CI: %s (make test-cluster starts one)", why)
		}
		t.Skipf("no Kafka cluster: %s (make test-cluster starts one)", why)
	}
	addrs := os.Getenv("PETITIOND_KAFKA_CLUSTER")
	script := os.Getenv("PETITIOND_KAFKA_CLUSTER_SCRIPT")
	if addrs == "" || script == "" {
		missing("PETITIOND_KAFKA_CLUSTER or PETITIOND_KAFKA_CLUSTER_SCRIPT is not set")
	}
	brokers := strings.Split(addrs, ",")
	if len(brokers) != 3 {
		missing(fmt.Sprintf("PETITIOND_KAFKA_CLUSTER names %d brokers, want 3", len(brokers)))
	}
	for _, b := range brokers {
		c, err := net.DialTimeout("tcp", b, 2*time.Second)
		if err != nil {
			missing(err.Error())
		}
		c.Close()
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &cluster{t: t, brokers: brokers, script: script, adm: kadm.NewClient(cl)}
}

// run runs the cluster script with args.
func (c *cluster) run(args ...string) {
	c.t.Helper()
	cmd := exec.Command("bash", append([]string{c.script}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		c.t.Fatalf("%s %s: %v\n%s", c.script, strings.Join(args, " "), err, out)
	}
}

// partitionInfo is one partition's leader and in-sync replicas.
type partitionInfo struct {
	leader int32
	isr    []int32
}

func (c *cluster) partitions(topic string) (map[int32]partitionInfo, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	md, err := c.adm.Metadata(ctx, topic)
	if err != nil {
		return nil, err
	}
	td, ok := md.Topics[topic]
	if !ok || td.Err != nil {
		return nil, fmt.Errorf("topic %s: %v", topic, td.Err)
	}
	out := map[int32]partitionInfo{}
	for p, pd := range td.Partitions {
		out[p] = partitionInfo{leader: pd.Leader, isr: pd.ISR}
	}
	return out, nil
}

// mostLeading returns the node leading the most partitions of topic
// (not one in except) and those partitions.
func (c *cluster) mostLeading(topic string, except ...int32) (int32, []int32) {
	c.t.Helper()
	ps, err := c.partitions(topic)
	if err != nil {
		c.t.Fatal(err)
	}
	led := map[int32][]int32{}
	for p, pi := range ps {
		led[pi.leader] = append(led[pi.leader], p)
	}
	best := int32(-1)
	for n := int32(1); n <= 3; n++ {
		skip := false
		for _, e := range except {
			skip = skip || e == n
		}
		if !skip && (best < 0 || len(led[n]) > len(led[best])) {
			best = n
		}
	}
	sort.Slice(led[best], func(i, j int) bool { return led[best][i] < led[best][j] })
	return best, led[best]
}

// waitISR waits until every partition of the topics has a leader and three
// in-sync replicas: the restarted broker has rejoined.
func (c *cluster) waitISR(within time.Duration, topics ...string) time.Duration {
	c.t.Helper()
	start := time.Now()
	var last string
	ok := testutil.Eventually(within, func() bool {
		for _, topic := range topics {
			ps, err := c.partitions(topic)
			if err != nil {
				last = err.Error()
				return false
			}
			for p, pi := range ps {
				if pi.leader < 0 || len(pi.isr) != 3 {
					last = fmt.Sprintf("%s/%d: leader %d, isr %v", topic, p, pi.leader, pi.isr)
					return false
				}
			}
		}
		return true
	})
	if !ok {
		c.t.Fatalf("ISR not back to 3 within %v: %s", within, last)
	}
	return time.Since(start)
}

// replicationFactor returns the replicas of topic's first partition.
func (c *cluster) replicationFactor(topic string) int {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	md, err := c.adm.Metadata(ctx, topic)
	if err != nil {
		c.t.Fatal(err)
	}
	for _, pd := range md.Topics[topic].Partitions {
		return len(pd.Replicas)
	}
	return 0
}
