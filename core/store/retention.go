package store

import (
	"context"
	"fmt"
	"time"
)

// PruneTable is a table the retention job prunes by age.
type PruneTable string

// The prunable tables. Scaling events are the audit trail of actions and
// are kept; the others grow with every notification, evaluation and call.
const (
	PruneNotifications PruneTable = "webhook_notifications"
	PruneAlerts        PruneTable = "scaling_alerts"
	PruneDecisions     PruneTable = "scaling_decisions"
	PruneAudit         PruneTable = "audit_log"
)

// PruneTables lists them in the order a pass prunes them.
var PruneTables = []PruneTable{PruneNotifications, PruneAlerts, PruneDecisions, PruneAudit}

// unfinished is the SQL test of an event still running.
const unfinished = `e.status IN ('pending', 'in_progress')`

// pruneSQL deletes at most $2 rows older than $1, oldest first. Each batch
// is one short statement (its own transaction), and rows another
// transaction holds (a webhook re-delivery bumping a notification) are
// skipped, not waited for: pruning never holds or waits on long locks.
var pruneSQL = map[PruneTable]string{
	// A re-delivered notification counts from its last receipt: Alertmanager
	// still repeating it means it still deduplicates something.
	PruneNotifications: `DELETE FROM webhook_notifications WHERE dedup_key IN (
		SELECT dedup_key FROM webhook_notifications WHERE last_received_at < $1
		ORDER BY last_received_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
	// An alert counts from its last delivery: a still-firing alert is
	// repeated by Alertmanager (repeat_interval, hours) and so is never this
	// old. The alerts of a service with an unfinished action are kept: the
	// action's trigger names them.
	PruneAlerts: `DELETE FROM scaling_alerts WHERE (fingerprint, starts_at) IN (
		SELECT fingerprint, starts_at FROM scaling_alerts a WHERE last_seen_at < $1
			AND NOT EXISTS (SELECT 1 FROM scaling_events e WHERE e.service_name = a.service_name AND ` + unfinished + `)
		ORDER BY last_seen_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
	// The decision that started an unfinished action is its "why": kept.
	PruneDecisions: `DELETE FROM scaling_decisions WHERE id IN (
		SELECT id FROM scaling_decisions d WHERE decided_at < $1
			AND NOT EXISTS (SELECT 1 FROM scaling_events e WHERE e.id = d.event_id AND ` + unfinished + `)
		ORDER BY decided_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
	PruneAudit: `DELETE FROM audit_log WHERE id IN (
		SELECT id FROM audit_log WHERE at < $1 ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
}

// PruneBatch deletes up to limit rows of table older than cutoff, oldest
// first, and reports how many it deleted; fewer than limit means the table
// holds no more (that are not locked or needed).
func (s *Store) PruneBatch(ctx context.Context, table PruneTable, cutoff time.Time, limit int) (int64, error) {
	q, ok := pruneSQL[table]
	if !ok {
		return 0, fmt.Errorf("prune %s: not a prunable table", table)
	}
	if limit <= 0 {
		return 0, fmt.Errorf("prune %s: batch size %d, want > 0", table, limit)
	}
	tag, err := s.pool.Exec(ctx, q, cutoff, limit)
	if err != nil {
		return 0, fmt.Errorf("prune %s: %w", table, translate(err))
	}
	return tag.RowsAffected(), nil
}
