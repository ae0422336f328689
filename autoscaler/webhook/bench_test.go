package webhook_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wedsync/scaling/autoscaler/webhook"
	"github.com/wedsync/scaling/core/storetest"
)

// BenchmarkWebhookDurable: notifications per second through the real HTTP
// handler into a PostgreSQL with fsync and synchronous commit on, as a ratio
// to pgbench's single-row INSERT+COMMIT rate on the same server, same
// concurrency, same run. Each notification is distinct (no duplicates), so
// each is one durable transaction.
func BenchmarkWebhookDurable(b *testing.B) {
	for _, clients := range []int{1, 4, 16} {
		for _, writers := range []int{1, 2} {
			b.Run(fmt.Sprintf("clients=%d/writers=%d", clients, writers), func(b *testing.B) { benchWebhook(b, clients, writers) })
		}
	}
}

func benchWebhook(b *testing.B, clients, writers int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, pg := storetest.NewDurable(b)
	tps, err := pg.PgbenchInsertTPS(ctx, "bench", clients, 5*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	h, err := webhook.New(webhook.Config{Recorder: webhook.NewGroupCommit(st, writers, 64), Known: known, Token: "t", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	tmpl := string(fixture(b, "am-0.25-firing.json"))
	var seq atomic.Int64
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	post := func(n int64) error {
		body := strings.Replace(tmpl, `"fingerprint":"6edfc6f66b9dc150"`, fmt.Sprintf(`"fingerprint":"%016x"`, n), 1)
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer t")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	// Exactly `clients` concurrent senders, like pgbench's -c.
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := seq.Add(1)
				if n > int64(b.N) {
					return
				}
				if err := post(n); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	rate := float64(b.N) / elapsed.Seconds()
	b.ReportMetric(rate, "notifications/s")
	b.ReportMetric(tps, "pgbench_tps")
	b.ReportMetric(rate/tps, "ratio")
}
