package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	adminapi "github.com/wedsync/scaling/autoscaler/api"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

// BenchmarkAPIEventsList: the events list (a page of 100 in a 30-day
// window, all services and one service) over 1,000,000 events, by
// concurrent clients through HTTP, authentication and JSON, as a ratio to
// the bare store query run the same way on the same database.
func BenchmarkAPIEventsList(b *testing.B) {
	ctx := context.Background()
	st, _ := storetest.NewDurable(b)
	to := time.Now().UTC().Truncate(time.Hour)
	services := make([]string, 50)
	for i := range services {
		services[i] = fmt.Sprintf("svc-%02d", i)
	}
	if err := st.SeedSyntheticEvents(ctx, 1_000_000, services, to.AddDate(-1, 0, 0), to); err != nil {
		b.Fatal(err)
	}
	_, secret, _ := st.CreateToken(ctx, "bench", store.RoleViewer, "bench")
	srv := httptest.NewServer(adminapi.New(adminapi.Config{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler())
	defer srv.Close()
	from := to.AddDate(0, 0, -30)
	for _, c := range []struct {
		name   string
		filter store.EventFilter
		query  url.Values
	}{
		{"all", store.EventFilter{From: from, To: to, Limit: 100}, url.Values{"from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}, "limit": {"100"}}},
		{"one-service", store.EventFilter{Service: "svc-07", From: from, To: to, Limit: 100},
			url.Values{"service": {"svc-07"}, "from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}, "limit": {"100"}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			apiLat := measure(b.N, 4, getter(srv.URL+"/api/admin/scaling/events?"+c.query.Encode(), secret))
			sqlLat := measure(b.N, 4, func() error {
				_, err := st.ListEvents(ctx, c.filter)
				return err
			})
			report(b, apiLat, sqlLat)
		})
	}
}

// BenchmarkAPICostBreakdown: a 12-month × 50-service cost breakdown (73,000
// cost rows), as totals and per month, through the API as a ratio to the
// store's aggregation alone on the same database.
func BenchmarkAPICostBreakdown(b *testing.B) {
	ctx := context.Background()
	st, _ := storetest.NewDurable(b)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	services := make([]string, 50)
	for i := range services {
		services[i] = fmt.Sprintf("svc-%02d", i)
	}
	yearAgo := today.AddDate(0, 0, -364)
	if err := st.SeedSyntheticCosts(ctx, services, []string{"compute", "storage", "bandwidth", "ai_tokens"}, yearAgo, today.Add(24*time.Hour)); err != nil {
		b.Fatal(err)
	}
	_, secret, _ := st.CreateToken(ctx, "bench", store.RoleViewer, "bench")
	srv := httptest.NewServer(adminapi.New(adminapi.Config{Store: st, Costs: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler())
	defer srv.Close()
	for _, interval := range []string{"total", "month"} {
		b.Run("12m_x_50_services_"+interval, func(b *testing.B) {
			q := url.Values{"from": {yearAgo.Format(time.RFC3339)}, "to": {today.Format(time.RFC3339)}, "interval": {interval}}
			apiLat := measure(b.N, 4, getter(srv.URL+"/api/admin/costs/breakdown?"+q.Encode(), secret))
			sqlLat := measure(b.N, 4, func() error {
				_, err := st.CostByDimension(ctx, store.CostDimensionFilter{From: yearAgo, To: today, Bucket: interval})
				return err
			})
			report(b, apiLat, sqlLat)
		})
	}
}

// getter is one authenticated GET that must answer 200, read to the end.
func getter(u, secret string) func() error {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	return func() error {
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
}

// measure runs fn n times from `clients` goroutines and returns the sorted
// latencies.
func measure(n, clients int, fn func() error) []time.Duration {
	var next atomic.Int64
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	var failed atomic.Value
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				t0 := time.Now()
				if err := fn(); err != nil {
					failed.Store(err)
					return
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		panic(err)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat
}

func pct(lat []time.Duration, p float64) float64 {
	return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
}

func report(b *testing.B, api, sql []time.Duration) {
	b.ReportMetric(pct(api, 0.5), "api_p50_ms")
	b.ReportMetric(pct(api, 0.99), "api_p99_ms")
	b.ReportMetric(pct(sql, 0.5), "sql_p50_ms")
	b.ReportMetric(pct(sql, 0.99), "sql_p99_ms")
	b.ReportMetric(pct(api, 0.5)/pct(sql, 0.5), "ratio_p50")
	b.ReportMetric(pct(api, 0.99)/pct(sql, 0.99), "ratio_p99")
}
