package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
)

func TestScalingEventCounts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	// 30 events over 3 hours, one every 6 minutes, across two services; every
	// third is a scale_down, every 50th failed (none here: i < 50 → i=0 fails).
	if err := s.SeedSyntheticEvents(ctx, 30, []string{"api", "worker"}, from, from.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		f       store.EventCountFilter
		want    []string // "hh:mm key count"
		wantErr error
	}{
		{"hourly by type", store.EventCountFilter{From: from, To: from.Add(3 * time.Hour), Bucket: time.Hour},
			[]string{"00:00 scale_down 4", "00:00 scale_up 6", "01:00 scale_down 3", "01:00 scale_up 7", "02:00 scale_down 3", "02:00 scale_up 7"}, nil},
		{"one bucket by service", store.EventCountFilter{From: from, To: from.Add(3 * time.Hour), Bucket: 3 * time.Hour, GroupBy: "service"},
			[]string{"00:00 api 15", "00:00 worker 15"}, nil},
		{"status of one service in the first hour", store.EventCountFilter{From: from, To: from.Add(time.Hour), Bucket: time.Hour, GroupBy: "status", Service: "api"},
			[]string{"00:00 completed 4", "00:00 failed 1"}, nil},
		{"unknown grouping", store.EventCountFilter{From: from, To: from.Add(time.Hour), Bucket: time.Hour, GroupBy: "colour"}, nil, store.ErrInvalid},
		{"inverted range", store.EventCountFilter{From: from, To: from.Add(-time.Hour), Bucket: time.Hour}, nil, store.ErrInvalid},
		{"sub-second bucket", store.EventCountFilter{From: from, To: from.Add(time.Hour), Bucket: time.Millisecond}, nil, store.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ScalingEventCounts(ctx, tt.f)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			var lines []string
			for _, c := range got {
				lines = append(lines, fmt.Sprintf("%s %s %d", c.Bucket.UTC().Format("15:04"), c.Key, c.Count))
			}
			if !slices.Equal(lines, tt.want) {
				t.Errorf("got %q\nwant %q", lines, tt.want)
			}
		})
	}
	n, err := s.CountScalingEvents(ctx, from, from.Add(time.Hour))
	if err != nil || n != 10 {
		t.Errorf("CountScalingEvents = %d, %v; want 10", n, err)
	}
}

func TestCostByDimension(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	day := func(d int) time.Time { return time.Date(2026, 1, d, 0, 0, 0, 0, time.UTC) }
	rows := []store.CostRecord{
		{Date: day(30), Service: "api", ResourceType: "compute", Team: "core", Amount: decimal.RequireFromString("10.50")},
		{Date: day(31), Service: "api", ResourceType: "compute", Team: "core", Amount: decimal.RequireFromString("11")},
		{Date: day(31), Service: "db", ResourceType: "storage", Team: "data", Amount: decimal.RequireFromString("4")},
		{Date: day(31), Service: "db", ResourceType: "storage", Team: "data", ChargeCategory: "Credit", Amount: decimal.RequireFromString("-1")},
		{Date: day(32), Service: "api", ResourceType: "compute", Team: "core", Amount: decimal.RequireFromString("12")}, // 1 February
		{Date: day(32), Service: "api", ResourceType: "compute-eu", Team: "core", Amount: decimal.RequireFromString("99"), Currency: "EUR"},
	}
	if _, err := s.ReplaceCosts(ctx, "test", store.CostScope{All: true}, rows); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		f       store.CostDimensionFilter
		want    []string
		wantErr error
	}{
		{"daily by service", store.CostDimensionFilter{From: day(30), To: day(32)},
			[]string{"01-30 api 10.5", "01-31 api 11", "01-31 db 3", "02-01 api 12"}, nil},
		{"monthly by team", store.CostDimensionFilter{From: day(1), To: day(40), GroupBy: "team", Bucket: "month"},
			[]string{"01-01 core 21.5", "01-01 data 3", "02-01 core 12"}, nil},
		{"total by resource", store.CostDimensionFilter{From: day(30), To: day(32), GroupBy: "resource", Bucket: "total"},
			[]string{"01-30 compute 33.5", "01-30 storage 3"}, nil},
		{"total of one service, no grouping", store.CostDimensionFilter{From: day(30), To: day(32), GroupBy: "none", Bucket: "total",
			CostFilter: store.CostFilter{Service: "api"}}, []string{"01-30  33.5"}, nil},
		{"euros", store.CostDimensionFilter{From: day(30), To: day(32), Bucket: "total", CostFilter: store.CostFilter{Currency: "EUR"}},
			[]string{"01-30 api 99"}, nil},
		{"unknown dimension", store.CostDimensionFilter{From: day(30), To: day(32), GroupBy: "colour"}, nil, store.ErrInvalid},
		{"unknown bucket", store.CostDimensionFilter{From: day(30), To: day(32), Bucket: "week"}, nil, store.ErrInvalid},
		{"inverted", store.CostDimensionFilter{From: day(32), To: day(30)}, nil, store.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.CostByDimension(ctx, tt.f)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			var lines []string
			for _, c := range got {
				lines = append(lines, fmt.Sprintf("%s %s %s", c.Bucket.Format("01-02"), c.Key, c.Amount))
			}
			if !slices.Equal(lines, tt.want) {
				t.Errorf("got %q\nwant %q", lines, tt.want)
			}
		})
	}
}

func TestLatestCapacityAndServices(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	now := time.Now().UTC().Truncate(time.Second)
	for i, c := range []store.CapacitySample{
		{Resource: "database_connections", Service: "db", Used: 10, Max: 100, RecordedAt: now.Add(-2 * time.Hour)},
		{Resource: "database_connections", Service: "db", Used: 20, Max: 100, RecordedAt: now.Add(-time.Hour)},
		{Resource: "storage", Service: "db", Used: 5, Max: 8, Unit: "GB", RecordedAt: now.Add(-3 * time.Hour)},
		{Resource: "users", Service: "wedsync", Used: 1500, Max: 10000, RecordedAt: now},
	} {
		if err := s.RecordCapacity(ctx, c); err != nil {
			t.Fatalf("sample %d: %v", i, err)
		}
	}
	tests := []struct {
		resource, service string
		want              []string
	}{
		{"", "", []string{"database_connections/db 20", "storage/db 5", "users/wedsync 1500"}},
		{"storage", "", []string{"storage/db 5"}},
		{"", "wedsync", []string{"users/wedsync 1500"}},
		{"bandwidth", "", nil},
	}
	for _, tt := range tests {
		got, err := s.LatestCapacitySamples(ctx, tt.resource, tt.service)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, c := range got {
			lines = append(lines, fmt.Sprintf("%s/%s %g", c.Resource, c.Service, c.Used))
		}
		if !slices.Equal(lines, tt.want) {
			t.Errorf("LatestCapacitySamples(%q, %q) = %q, want %q", tt.resource, tt.service, lines, tt.want)
		}
	}
	if _, err := s.BeginEvent(ctx, store.NewEvent{Type: store.EventScaleUp, Service: "api", TriggerReason: "test", InitiatedBy: "manual"}); err != nil {
		t.Fatal(err)
	}
	svcs, err := s.KnownServices(ctx, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"api", "db", "wedsync"}; !slices.Equal(svcs, want) {
		t.Errorf("KnownServices = %q, want %q", svcs, want)
	}
}

func TestBenchmarksOfLoadTestsAndHistory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	f := func(v float64) *float64 { return &v }
	var ids []string
	for i := range 3 {
		lt, _, err := s.RecordFinishedLoadTest(ctx, store.NewLoadTest{Name: "checkout", Type: "baseline", TargetURL: "http://127.0.0.1:1", Config: json.RawMessage(`{}`)},
			time.Now().Add(-time.Duration(3-i)*time.Hour), store.LoadTestOutcome{Status: store.LoadTestCompleted},
			&store.NewBenchmark{Name: "checkout", TestType: "baseline", P95: f(100 + float64(i))})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, lt.ID)
	}
	lt, err := s.StartLoadTest(ctx, store.NewLoadTest{Name: "checkout", Type: "stress", TargetURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.BenchmarksOfLoadTests(ctx, append(ids, lt.ID))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || *got[ids[2]].P95 != 102 {
		t.Errorf("BenchmarksOfLoadTests = %+v", got)
	}
	if _, ok := got[lt.ID]; ok {
		t.Error("a running test has a benchmark")
	}
	empty, err := s.BenchmarksOfLoadTests(ctx, nil)
	if err != nil || len(empty) != 0 {
		t.Errorf("no ids: %v %v", empty, err)
	}
	hist, err := s.BenchmarkHistory(ctx, "checkout", time.Time{}, time.Time{}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || *hist[0].P95 != 101 || *hist[1].P95 != 102 {
		t.Errorf("BenchmarkHistory(limit 2) = %d rows, want the newest two oldest first", len(hist))
	}
	none, err := s.BenchmarkHistory(ctx, "other", time.Time{}, time.Time{}, 0)
	if err != nil || len(none) != 0 {
		t.Errorf("other name: %d %v", len(none), err)
	}
}
