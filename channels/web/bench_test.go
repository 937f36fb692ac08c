package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/court12368/petitiond/blob"
	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/channels/web"
	"github.com/court12368/petitiond/config"
	"github.com/court12368/petitiond/engine"
	"github.com/court12368/petitiond/normalize"
	"github.com/court12368/petitiond/producer"
	"github.com/court12368/petitiond/router"
)

// ackProducer acknowledges every batch at once, keeping nothing.
type ackProducer struct{}

func (ackProducer) Produce(_ []producer.Message, done func(error)) { done(nil) }
func (ackProducer) Healthy() bool                                  { return true }
func (ackProducer) Close() error                                   { return nil }

// BenchmarkSubmit posts the side-by-side report's web petition (~1.4 KB
// JSON) from 64 keep-alive clients through the real listener, channel,
// engine (normalize, classify, route, encode) and a synced blob store, to a
// producer that acknowledges at once: petitiond's own part of the web
// path, without Kafka. Compare its CPU profile with bench/report's.
func BenchmarkSubmit(b *testing.B) {
	body, _ := json.Marshal(map[string]string{
		"name": "王小明", "phone": "13907911234", "email": "wang@example.cn", "address": "江西省南昌市红谷滩区丰和中大道1号",
		"subject": "关于执行款迟迟未到账", "case_number": "（2023）赣0102执1234号",
		"content": strings.Repeat("我的案件判决已生效半年，执行款至今没有到账，请法院尽快处理。", 8),
	})
	dir := b.TempDir()
	blobs, err := blob.Open(dir+"/blobs", blob.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer blobs.Close()
	log := slog.New(slog.DiscardHandler)
	cfg := web.NewConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.RateLimit.PerSecond = 0
	cfg.MaxConnectionsPerClient = 0
	ch, err := web.New(cfg, channels.Env{Name: "web-b", Logger: log, Blobs: blobs, StateDir: dir + "/state"})
	if err != nil {
		b.Fatal(err)
	}
	rc, err := config.Parse("b.yaml", []byte("kafka: {brokers: [x]}\nroutes: {default_topic: in, dead_letter_topic: dead}\n"), channels.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	rules, err := router.Compile(rc)
	if err != nil {
		b.Fatal(err)
	}
	prod := ackProducer{}
	eng := engine.New(log, &normalize.Normalizer{Blobs: blobs}, rules, prod, engine.NewMetrics(prometheus.NewRegistry(), prod.Healthy), 10000)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ch.Run(ctx, eng.Sink("web-b", "web")) }()
	defer func() { cancel(); <-done }()
	addr, err := ch.Addr(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	url := "http://" + addr.String() + cfg.Path
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.SetParallelism(32) // 64 clients on 2 cores
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, err := client.Post(url, "application/json", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, r.Body)
			r.Body.Close()
			if r.StatusCode != 201 {
				b.Errorf("status %d", r.StatusCode)
				return
			}
		}
	})
	b.StopTimer() // the shutdown below is not the path measured
	client.CloseIdleConnections()
}
