package record

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
	"github.com/wedsync/scaling/loadtest/scenario"
)

func TestLongestRun(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, json string
		want       time.Duration
	}{
		// 700ms plus the default graceful stop (30s).
		{"shortcut", `{"name":"a","type":"baseline","target":"http://x","vus":2,"duration":"700ms"}`, 30*time.Second + 700*time.Millisecond},
		// The later end wins: 10s start + 30s + 5s stop = 45s against
		// 40s of stages + 30s stop + 10s ramp-down = 80s.
		{"two executors", `{"name":"b","type":"custom","target":"http://x","scenarios":{
			"steady":{"executor":"constant-vus","vus":1,"duration":"30s","startTime":"10s","gracefulStop":"5s"},
			"ramp":{"executor":"ramping-vus","stages":[{"duration":"20s","target":5},{"duration":"20s","target":0}],"gracefulRampDown":"10s"}}}`,
			80 * time.Second},
	} {
		sc, err := scenario.Parse([]byte(tc.json))
		if err != nil {
			t.Fatal(err)
		}
		if err := sc.Validate(); err != nil {
			t.Fatal(err)
		}
		if got := LongestRun(sc); got != tc.want {
			t.Errorf("%s: LongestRun = %s, want %s", tc.name, got, tc.want)
		}
	}
}

// The recorder's runs name its owner and their longest run; an owner with
// no live lease starts nothing.
func TestBeginNamesTheOwner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	sc := shortScenario(t, "owned", "http://127.0.0.1:1")
	if err := sc.Validate(); err != nil {
		t.Fatal(err)
	}
	rc := &Recorder{Store: st, Owner: "replica-a"}
	if _, err := rc.Begin(ctx, sc, "test"); !errors.Is(err, store.ErrNoLease) {
		t.Fatalf("begin without the owner's lease: %v, want ErrNoLease", err)
	}
	if _, err := st.Heartbeat(ctx, "replica-a", time.Minute, 0); err != nil {
		t.Fatal(err)
	}
	lt, err := rc.Begin(ctx, sc, "test")
	if err != nil {
		t.Fatal(err)
	}
	if lt.Owner != "replica-a" || lt.MaxDuration != LongestRun(sc) || lt.MaxDuration == 0 {
		t.Fatalf("began %+v: want owner replica-a, max duration %s", lt, LongestRun(sc))
	}
	cli, err := (&Recorder{Store: st}).Begin(ctx, sc, "test")
	if err != nil || cli.Owner != "" {
		t.Fatalf("a recorder without an owner (wedsync-load): %+v %v", cli, err)
	}
}
