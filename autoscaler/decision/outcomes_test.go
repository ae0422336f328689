package decision

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/wedsync/scaling/core/store"
)

// The schema's CHECK on scaling_decisions.outcome is a copy of Outcomes:
// the newest migration that sets it must list exactly these.
func TestOutcomesMatchTheSchema(t *testing.T) {
	t.Parallel()
	ms, err := store.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?s)scaling_decisions_outcome_check CHECK \(outcome IN\s*\(([^)]*)\)\)`)
	var list string
	for _, m := range ms {
		if g := re.FindStringSubmatch(m.SQL); g != nil {
			list = g[1]
		}
	}
	if list == "" {
		t.Fatal("no migration sets scaling_decisions_outcome_check")
	}
	var schema []string
	for _, v := range strings.Split(list, ",") {
		schema = append(schema, strings.Trim(strings.TrimSpace(v), "'"))
	}
	var ours []string
	for _, o := range Outcomes {
		ours = append(ours, string(o))
	}
	slices.Sort(schema)
	slices.Sort(ours)
	if !slices.Equal(schema, ours) {
		t.Fatalf("schema allows %v, decision.Outcomes is %v", schema, ours)
	}
}
