package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// RecommendationStatuses are a recommendation's statuses (the spec's):
// the schema's CHECK, the API's filter and document and the plugin's query
// are tested against this list. A dismissal is "rejected", with its reason.
var RecommendationStatuses = []string{"pending", "approved", "implemented", "rejected", "expired"}

// Lifecycle is what a recommendation's life adds to its figures: its
// rejection, the last failed attempt to implement it, and whether an
// attempt is running now.
type Lifecycle struct {
	RejectedBy   string     `json:"rejected_by,omitempty"`
	RejectedAt   *time.Time `json:"rejected_at,omitempty"`
	RejectReason string     `json:"reject_reason,omitempty"`
	// LastError is why the last attempt did not implement it (the action
	// failed, or the rate limit cut its target); cleared by the next one.
	LastError   string     `json:"last_error,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
	// Implementing: its scaling event is still in progress.
	Implementing bool `json:"implementing"`
}

const lifecycleColumns = `coalesce(rejected_by, ''), rejected_at, coalesce(reject_reason, ''), coalesce(last_error, ''), last_error_at,
	EXISTS (SELECT 1 FROM scaling_events ev WHERE ev.id = scaling_event_id AND ev.status IN ('pending', 'in_progress'))`

func (l *Lifecycle) dest() []any {
	return []any{&l.RejectedBy, &l.RejectedAt, &l.RejectReason, &l.LastError, &l.LastErrorAt, &l.Implementing}
}

// RecommendedConfig is the one owner of the contract of recommended_config
// (and of current_config, the same keys with today's values) between the
// generator (package recommend builds it) and the implementation (which
// parses it): horizontal and queue services {"replicas", "min_replicas",
// "max_replicas"}, vertical {"tier", "min_tier", "max_tier"}, caching
// {"tier", "cache": true} (current: "cache": false). A target with bounds
// is a rightsizing of the policy, not a one-off action. Pointers, so that
// a zero is written, never dropped.
type RecommendedConfig struct {
	Replicas *int   `json:"replicas,omitempty"`
	Tier     string `json:"tier,omitempty"`
	Bounds
	// Cache: nothing here can carry it out; implementing it records the
	// operator's word that it was done.
	Cache *bool `json:"cache,omitempty"`
}

// Bounds are a service's [min, max]: replicas, or tiers of its ladder.
type Bounds struct {
	MinReplicas *int   `json:"min_replicas,omitempty"`
	MaxReplicas *int   `json:"max_replicas,omitempty"`
	MinTier     string `json:"min_tier,omitempty"`
	MaxTier     string `json:"max_tier,omitempty"`
}

// IsZero reports bounds that say nothing.
func (b Bounds) IsZero() bool {
	return b.MinReplicas == nil && b.MaxReplicas == nil && b.MinTier == "" && b.MaxTier == ""
}

// ParseRecommendedConfig reads and checks a recommended_config: half a
// pair of bounds, or replicas and tiers mixed, is refused (ErrInvalid).
func ParseRecommendedConfig(raw json.RawMessage) (RecommendedConfig, error) {
	var c RecommendedConfig
	if len(raw) == 0 {
		return c, nil
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, &ValidationError{Field: "recommended_config", Message: err.Error()}
	}
	bad := func(msg string) (RecommendedConfig, error) {
		return c, &ValidationError{Field: "recommended_config", Message: msg}
	}
	switch {
	case (c.MinReplicas == nil) != (c.MaxReplicas == nil):
		return bad("min_replicas and max_replicas come together")
	case (c.MinTier == "") != (c.MaxTier == ""):
		return bad("min_tier and max_tier come together")
	case c.MinReplicas != nil && c.MinTier != "":
		return bad("bounds in replicas and in tiers at once")
	case c.Replicas != nil && c.Tier != "":
		return bad("a target in replicas and in tiers at once")
	case c.MinReplicas != nil && (*c.MinReplicas < 1 || *c.MinReplicas > *c.MaxReplicas):
		return bad(fmt.Sprintf("min_replicas %d, max_replicas %d: want 1 <= min <= max", *c.MinReplicas, *c.MaxReplicas))
	case c.MinReplicas != nil && c.Replicas != nil && (*c.Replicas < *c.MinReplicas || *c.Replicas > *c.MaxReplicas):
		return bad(fmt.Sprintf("replicas %d outside its own bounds [%d, %d]", *c.Replicas, *c.MinReplicas, *c.MaxReplicas))
	case c.MinReplicas != nil && c.Tier != "", c.MinTier != "" && c.Replicas != nil:
		return bad("the target and the bounds count different things")
	}
	return c, nil
}

// Actionable reports a recommendation an actuator carries out.
func (c RecommendedConfig) Actionable() bool {
	return !c.Caches() && (c.Replicas != nil || c.Tier != "")
}

// Caches reports a config that puts a cache in front of the service.
func (c RecommendedConfig) Caches() bool { return c.Cache != nil && *c.Cache }

// reached reports whether a completed event's after_config is the
// recommended target: a target the rate limit cut is not.
func (c RecommendedConfig) reached(after json.RawMessage) (bool, string) {
	var got struct {
		Replicas *int   `json:"replicas"`
		Tier     string `json:"tier"`
	}
	if err := json.Unmarshal(after, &got); err != nil {
		return false, "its event's after_config cannot be read: " + err.Error()
	}
	switch {
	case c.Replicas != nil && (got.Replicas == nil || *got.Replicas != *c.Replicas):
		n := "none"
		if got.Replicas != nil {
			n = fmt.Sprint(*got.Replicas)
		}
		return false, fmt.Sprintf("the action stopped at %s replicas (the rate limit cut it), the recommendation asks for %d: implement it again to go on", n, *c.Replicas)
	case c.Tier != "" && got.Tier != c.Tier:
		return false, fmt.Sprintf("the action reached tier %q, the recommendation asks for %q: implement it again to go on", got.Tier, c.Tier)
	}
	return true, ""
}

// RejectRecommendation rejects (dismisses) a pending or approved
// recommendation with its reason, which is required. One being
// implemented, or already decided, is a ConflictError naming its state.
func (s *Store) RejectRecommendation(ctx context.Context, id, by, reason string) (Recommendation, error) {
	if reason == "" {
		return Recommendation{}, &ValidationError{Field: "reason", Message: "required"}
	}
	var out Recommendation
	err := s.inAuditedTx(ctx, func(tx pgx.Tx) (string, error) {
		cur, err := lockRec(ctx, tx, id)
		if err != nil {
			return "", err
		}
		if err := decidable(cur); err != nil {
			return "", err
		}
		out, err = scanRec(tx.QueryRow(ctx, `UPDATE optimization_recommendations SET status = 'rejected', updated_at = now(),
				rejected_by = $2, rejected_at = now(), reject_reason = $3
			WHERE id = $1::uuid RETURNING `+recColumns, id, by, reason))
		return id, err
	})
	return out, err
}

func lockRec(ctx context.Context, tx pgx.Tx, id string) (Recommendation, error) {
	cur, err := scanRec(tx.QueryRow(ctx, `SELECT `+recColumns+` FROM optimization_recommendations WHERE id::text = $1 FOR UPDATE`, id))
	if err != nil {
		return Recommendation{}, fmt.Errorf("recommendation %s: %w", id, err)
	}
	return cur, nil
}

// decidable: pending or approved, and no attempt running.
func decidable(cur Recommendation) error {
	switch {
	case cur.Status != "pending" && cur.Status != "approved":
		return &ConflictError{What: "recommendation " + cur.ID, State: cur.Status}
	case cur.Implementing:
		return &ConflictError{What: "recommendation " + cur.ID, State: "being implemented (scaling event " + cur.ScalingEventID + ")"}
	}
	return nil
}

// CompleteRecommendation implements an approved recommendation that needs
// no action: a cache (the operator's word that it was done), or a
// rightsizing whose target the service is already at. Its bounds, if any,
// become the service's override in the same transaction. by is who.
func (s *Store) CompleteRecommendation(ctx context.Context, id, by string) (Recommendation, error) {
	var out Recommendation
	err := s.inAuditedTx(ctx, func(tx pgx.Tx) (string, error) {
		cur, err := lockRec(ctx, tx, id)
		if err != nil {
			return "", err
		}
		if cur.Status != "approved" || cur.Implementing {
			return "", decidable(cur) // implemented, rejected, …: say so
		}
		out, err = implemented(ctx, tx, cur, "", by)
		return id, err
	})
	return out, err
}

// implemented marks cur implemented and writes its bounds as the service's
// override.
func implemented(ctx context.Context, tx pgx.Tx, cur Recommendation, eventID, by string) (Recommendation, error) {
	cfg, err := ParseRecommendedConfig(cur.RecommendedConfig)
	if err != nil {
		return Recommendation{}, err
	}
	if !cfg.Bounds.IsZero() {
		if err := putOverride(ctx, tx, PolicyOverride{Service: cur.Service, Bounds: cfg.Bounds, RecommendationID: cur.ID,
			ScalingEventID: eventID, CreatedBy: by}); err != nil {
			return Recommendation{}, err
		}
	}
	return scanRec(tx.QueryRow(ctx, `UPDATE optimization_recommendations SET status = 'implemented', implemented_at = now(),
			updated_at = now(), last_error = NULL, last_error_at = NULL
		WHERE id = $1::uuid RETURNING `+recColumns, cur.ID))
}

// linkRecommendation ties an approved recommendation to the event that
// implements it, in that event's transaction: the event's close then
// settles it (settleRecommendation), however fast the action is.
func linkRecommendation(ctx context.Context, tx pgx.Tx, id string, ev Event) error {
	cur, err := lockRec(ctx, tx, id)
	if err != nil {
		return err
	}
	if cur.Service != ev.Service {
		return fmt.Errorf("recommendation %s is for %q, the event acts on %q", id, cur.Service, ev.Service)
	}
	if cur.Status != "approved" {
		return decidable(cur)
	}
	_, err = tx.Exec(ctx, `UPDATE optimization_recommendations SET scaling_event_id = $2::uuid, updated_at = now()
		WHERE id = $1::uuid`, id, ev.ID)
	return translate(err)
}

// relinkRetry moves a recommendation whose attempt failed onto the event
// that retries it, so that the retry's outcome settles it.
func relinkRetry(ctx context.Context, tx pgx.Tx, retryOf, eventID string) error {
	_, err := tx.Exec(ctx, `UPDATE optimization_recommendations SET scaling_event_id = $2::uuid, updated_at = now()
		WHERE scaling_event_id = $1::uuid AND status = 'approved'`, retryOf, eventID)
	return translate(err)
}

// settleRecommendation runs in the transaction that closes ev: the
// recommendation it implements becomes implemented only if the action
// completed at the recommended target; otherwise it stays approved with
// why recorded. Closing happens once per event, so settling does too.
func settleRecommendation(ctx context.Context, tx pgx.Tx, ev Event) error {
	cur, err := scanRec(tx.QueryRow(ctx, `SELECT `+recColumns+` FROM optimization_recommendations
		WHERE scaling_event_id = $1::uuid AND status = 'approved' FOR UPDATE`, ev.ID))
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("recommendation of event %s: %w", ev.ID, err)
	}
	why := ev.ErrorMessage
	if ev.Status == StatusCompleted {
		cfg, err := ParseRecommendedConfig(cur.RecommendedConfig)
		if err != nil {
			why = err.Error()
		} else if ok, msg := cfg.reached(ev.After); !ok {
			why = msg
		} else {
			by := ev.InitiatedUserID
			if by == "" {
				by = ev.InitiatedBy
			}
			_, err := implemented(ctx, tx, cur, ev.ID, by)
			return err
		}
	}
	if why == "" {
		why = "the action ended " + string(ev.Status)
	}
	_, err = tx.Exec(ctx, `UPDATE optimization_recommendations SET last_error = $2, last_error_at = now(), updated_at = now()
		WHERE id = $1::uuid`, cur.ID, "scaling event "+ev.ID+": "+why)
	return translate(err)
}

// unsettleRecommendation runs in the transaction that completes rollback
// ev: the recommendation the rolled-back event implemented is approved
// again (saying so) and the override that event left is removed — a
// rollback that kept the bounds would be undone by the next evaluation.
func unsettleRecommendation(ctx context.Context, tx pgx.Tx, ev Event) error {
	if _, err := tx.Exec(ctx, `DELETE FROM policy_overrides WHERE scaling_event_id = $1::uuid`, ev.RollbackOf); err != nil {
		return fmt.Errorf("remove the override of %s: %w", ev.RollbackOf, translate(err))
	}
	_, err := tx.Exec(ctx, `UPDATE optimization_recommendations SET status = 'approved', implemented_at = NULL, updated_at = now(),
			last_error = 'scaling event ' || $2 || ' rolled back its implementation', last_error_at = now()
		WHERE scaling_event_id = $1::uuid AND status = 'implemented'`, ev.RollbackOf, ev.ID)
	if err != nil {
		return fmt.Errorf("reopen the recommendation of %s: %w", ev.RollbackOf, translate(err))
	}
	return nil
}

// PolicyOverride is a service's bounds as a rightsizing set them, in
// force (inside the policy file's) until reverted.
type PolicyOverride struct {
	Service string `json:"service_name"`
	Bounds
	RecommendationID string    `json:"recommendation_id,omitempty"`
	ScalingEventID   string    `json:"scaling_event_id,omitempty"`
	CreatedBy        string    `json:"created_by"`
	CreatedAt        time.Time `json:"created_at"`
}

const overrideColumns = `service_name, min_replicas, max_replicas, coalesce(min_tier, ''), coalesce(max_tier, ''),
	coalesce(recommendation_id::text, ''), coalesce(scaling_event_id::text, ''), created_by, created_at`

func scanOverride(row pgx.Row) (PolicyOverride, error) {
	var o PolicyOverride
	err := row.Scan(&o.Service, &o.MinReplicas, &o.MaxReplicas, &o.MinTier, &o.MaxTier, &o.RecommendationID, &o.ScalingEventID,
		&o.CreatedBy, &o.CreatedAt)
	return o, translate(err)
}

func putOverride(ctx context.Context, tx pgx.Tx, o PolicyOverride) error {
	_, err := tx.Exec(ctx, `INSERT INTO policy_overrides (service_name, min_replicas, max_replicas, min_tier, max_tier,
			recommendation_id, scaling_event_id, created_by)
		VALUES ($1, $2, $3, nullif($4, ''), nullif($5, ''), nullif($6, '')::uuid, nullif($7, '')::uuid, $8)
		ON CONFLICT (service_name) DO UPDATE SET min_replicas = excluded.min_replicas, max_replicas = excluded.max_replicas,
			min_tier = excluded.min_tier, max_tier = excluded.max_tier, recommendation_id = excluded.recommendation_id,
			scaling_event_id = excluded.scaling_event_id, created_by = excluded.created_by, created_at = now()`,
		o.Service, o.MinReplicas, o.MaxReplicas, o.MinTier, o.MaxTier, o.RecommendationID, o.ScalingEventID, o.CreatedBy)
	if err != nil {
		return fmt.Errorf("override of %s: %w", o.Service, translate(err))
	}
	return nil
}

// PolicyOverrides lists the overrides in force, by service.
func (s *Store) PolicyOverrides(ctx context.Context) ([]PolicyOverride, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+overrideColumns+` FROM policy_overrides ORDER BY service_name`)
	if err != nil {
		return nil, fmt.Errorf("list overrides: %w", translate(err))
	}
	defer rows.Close()
	out := []PolicyOverride{}
	for rows.Next() {
		o, err := scanOverride(rows)
		if err != nil {
			return nil, fmt.Errorf("list overrides: %w", err)
		}
		out = append(out, o)
	}
	return out, translate(rows.Err())
}

// DeletePolicyOverride reverts a service to its policy file's bounds
// (audited under WithAudit); ErrNotFound when it has none.
func (s *Store) DeletePolicyOverride(ctx context.Context, service string) (PolicyOverride, error) {
	var out PolicyOverride
	err := s.inAuditedTx(ctx, func(tx pgx.Tx) (string, error) {
		var err error
		out, err = scanOverride(tx.QueryRow(ctx, `DELETE FROM policy_overrides WHERE service_name = $1 RETURNING `+overrideColumns, service))
		if err != nil {
			return "", fmt.Errorf("override of %s: %w", service, err)
		}
		return service, nil
	})
	return out, err
}

// DropPolicyOverride removes an override the policy file no longer admits,
// with an audit row by the autoscaler saying why. Only the override that
// was judged (same creation time) goes: one written since stays. dropped
// is false when it was gone already (another evaluation dropped it).
func (s *Store) DropPolicyOverride(ctx context.Context, o PolicyOverride, why string) (dropped bool, err error) {
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM policy_overrides WHERE service_name = $1 AND created_at = $2`, o.Service, o.CreatedAt)
		if err != nil {
			return fmt.Errorf("drop override of %s: %w", o.Service, translate(err))
		}
		if dropped = tag.RowsAffected() > 0; !dropped {
			return nil
		}
		_, err = insertAudit(ctx, tx, AuditEntry{Actor: "autoscaler", Role: "system", Method: "DELETE",
			Path: "/api/admin/optimization/overrides/" + o.Service, Status: 200, ResourceID: o.Service, Error: "dropped: " + why})
		return err
	})
	return dropped && err == nil, err
}

// linkEventRecommendation is BeginEvent's part of the lifecycle.
func linkEventRecommendation(ctx context.Context, tx pgx.Tx, e NewEvent, ev Event) error {
	if e.Recommendation != "" {
		return linkRecommendation(ctx, tx, e.Recommendation, ev)
	}
	if e.RetryOf != "" {
		return relinkRetry(ctx, tx, e.RetryOf, ev.ID)
	}
	return nil
}
