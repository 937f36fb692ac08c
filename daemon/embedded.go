package daemon

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/court12368/petitiond/config"
)

// startEmbedded starts the in-process single-node Kafka-compatible broker
// (franz-go's kfake) with its data persisted in data_dir. It is for
// evaluation and `make run`, not for production: one node, no replication.
func startEmbedded(e *config.Embedded, log *slog.Logger) (*kfake.Cluster, []string, error) {
	host, portStr, err := net.SplitHostPort(e.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("kafka.embedded.listen: %w", err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, nil, fmt.Errorf("kafka.embedded.listen: bad port %q", portStr)
	}
	if err := os.MkdirAll(e.DataDir, 0o750); err != nil {
		return nil, nil, fmt.Errorf("kafka.embedded.data_dir: %w", err)
	}
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.Ports(port),
		kfake.DataDir(e.DataDir),
		kfake.SyncWrites(), // an acknowledged petition must survive a crash
		kfake.DefaultNumPartitions(e.Partitions),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			return net.Listen(network, net.JoinHostPort(host, portStr))
		}),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("embedded broker: %w", err)
	}
	addrs := c.ListenAddrs()
	log.Warn("EMBEDDED KAFKA: single-node, in-process broker for evaluation only — no replication, not for production",
		"listen", addrs, "data_dir", e.DataDir)
	return c, addrs, nil
}
