package replay

import (
	"fmt"
	"time"

	"github.com/wedsync/scaling/autoscaler/policy"
	"github.com/wedsync/scaling/rules"
)

// The savings trace (docs/savings.md): the API's load, one point a minute,
// the fixture daily shape's weekday curve (traceDailyAbove: night trough,
// morning rise, lunch bump, two evening peaks) above a night trough, the
// weekend half as busy again (a wedding platform's rhythm), growing
// linearly by a quarter over 60 days, with ±4 % noise. No reminder surge:
// it is the scheduled strategy's case, and every bound here is below it.
const (
	savingsTrough      = 120.0 // req/s, 02:00–06:00
	savingsWeekend     = 1.5   // Saturday and Sunday, above the trough
	savingsGrowthPer60 = 0.25  // linear growth over 60 days
	savingsNoise       = 0.04
	savingsShape       = 6 // the PCG stream (after the five fixture shapes)
)

// SavingsTrace is days of the savings trace from the fixtures' start (a
// Monday); the same days are the same to the bit.
func SavingsTrace(days int) Trace {
	r := traceRand(savingsShape)
	n := days * traceDailyStepsInDay
	return traceBuild(traceGenStart, time.Minute, n, func(i int, _ time.Duration) float64 {
		day, minute := i/traceDailyStepsInDay, i%traceDailyStepsInDay
		cycleDay, x := day, float64(minute)/60-traceDailyCycleFrom
		if x < 0 {
			cycleDay, x = day-1, x+24
		}
		above := traceDailyAbove(x)
		if wd := traceGenStart.AddDate(0, 0, cycleDay).Weekday(); wd == time.Saturday || wd == time.Sunday {
			above = float64(above * savingsWeekend)
		}
		v := savingsTrough + above
		v = float64(v * (1 + float64(savingsGrowthPer60*(float64(i)/float64(60*traceDailyStepsInDay)))))
		return float64(v * traceNoise(r, savingsNoise))
	})
}

// SavingsScenario is the fleet with idle capacity of docs/savings.md over
// days: the policy file testdata/savings-policy.yml (given as pol), with
// earlier overrides (a launch's) that set the API's floor to 8 replicas and
// search's to 3, and left the database on xlarge. No growth phase runs, so
// the hard limits of the recommendations are the file's.
func SavingsScenario(pol *policy.File, profile *rules.Profile, days int) (SavingsConfig, error) {
	if days < 1 {
		return SavingsConfig{}, fmt.Errorf("days: must be at least 1, got %d", days)
	}
	return SavingsConfig{Policy: pol, Profile: profile, Trace: SavingsTrace(days), ReadyAfter: 2 * time.Minute,
		API: "api", Search: "search", Database: "database", APIFloor: 8, SearchFloor: 3, DatabaseTier: "xlarge",
		APICapacity: 100, SearchCapacity: 100, SearchShare: 0.02, DatabaseWork: 0.004}, nil
}
