package devstack

import (
	"context"
	"strings"
	"testing"
)

// The lint every component's scrape goes through must refuse what
// Prometheus users would refuse: here a counter without _total.
func TestCheckMetrics(t *testing.T) {
	ctx := context.Background()
	good := "# HELP wedsync_requests_total Requests.\n# TYPE wedsync_requests_total counter\nwedsync_requests_total 3\n"
	if err := CheckMetrics(ctx, []byte(good)); err != nil {
		t.Fatalf("good exposition refused: %v", err)
	}
	bad := "# HELP wedsync_requests Requests.\n# TYPE wedsync_requests counter\nwedsync_requests 3\n"
	err := CheckMetrics(ctx, []byte(bad))
	if err == nil || !strings.Contains(err.Error(), "_total") {
		t.Fatalf("counter without _total: got %v", err)
	}
}
