package store

import (
	"context"
	"time"
)

// ActiveFailures lists the failed events that still stand, oldest first: a
// failed event is active while it is the latest finished event of its
// service. A later finished event of the service — a retry, a rollback, a
// new action, completed or failed — ends it (a new failure is then the
// active one); an event still in progress does not, since nothing is
// settled until it finishes. A failure that was rolled back is no longer
// `failed` and so never listed.
//
// Only failures finished at or after since are listed, so that a restarted
// autoscaler does not page people about a failure of last year that
// nothing has happened to since; the zero time lists them all.
//
// This is the condition WedsyncScalingActionFailed is renewed on
// (autoscaler/alerting): people hear of a failure for as long as it is the
// last word on its service.
func (s *Store) ActiveFailures(ctx context.Context, since time.Time) ([]Event, error) {
	// "Later" is by completed_at, as LastFinishedEvent orders, with the id
	// breaking ties so that two events finished in one instant cannot both
	// count as the latest.
	return s.listEvents(ctx, 0, `SELECT `+eventColumns+` FROM scaling_events f
		WHERE f.status = 'failed' AND ($1::timestamptz IS NULL OR f.completed_at >= $1)
		  AND NOT EXISTS (
			SELECT 1 FROM scaling_events l
			WHERE l.service_name = f.service_name
			  AND l.status IN ('completed', 'rolled_back', 'failed')
			  AND (l.completed_at, l.id) > (f.completed_at, f.id))
		ORDER BY f.completed_at, f.id`, optTime(since))
}
