package replay

import (
	"context"
	"testing"
)

// The "no added SLO-violation minutes" of TestSavingsReplay is only worth
// something if the replay counts violations when there are some: the same
// fleet held too small (the database on its smallest tier, the api capped
// at two replicas) must show violation minutes on both services.
func TestSavingsCountsViolations(t *testing.T) {
	t.Parallel()
	c := savingsScenario(t, 2)
	c.DatabaseTier = "small"
	two := 2
	api := *c.Policy.Services[c.API]
	api.MaxReplicas = &two
	c.Policy.Services[c.API] = &api
	c.APIFloor = 2
	rep, err := RunSavings(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	run := rep.Before
	for _, svc := range []string{c.API, c.Database} {
		if run.SLOViolationMinutes[svc] == 0 {
			t.Errorf("%s: no SLO-violation minute on an undersized fleet: %v", svc, run.SLOViolationMinutes)
		}
	}
	t.Logf("undersized fleet, 2 days: %v", run.SLOViolationMinutes)
}
