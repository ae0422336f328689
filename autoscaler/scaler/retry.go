package scaler

import (
	"context"
	"errors"

	"github.com/wedsync/scaling/core/store"
)

// Retry re-applies the after state of a failed event, through the
// service's current bounds, as a new logged event (initiated_by "retry",
// trigger_metrics {"retry_of": id}), with the limits, logging and audit of
// any action. dryRun returns the plan without acting. A ConflictError says
// the event is not failed.
func (s *Scaler) Retry(ctx context.Context, eventID, user string, dryRun bool) (store.Event, error) {
	return store.Event{}, errors.New("retry: not implemented yet")
}
