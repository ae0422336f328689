package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Notification is one Alertmanager webhook delivery, already validated.
type Notification struct {
	// DedupKey identifies the notification's content: two deliveries of the
	// same notification (a retry, the HA peer) have the same key.
	DedupKey string
	Receiver string
	GroupKey string
	Status   string // firing or resolved
	Payload  []byte // the body as received
	Alerts   []Alert
}

// Alert is the state of one alert instance that can drive an action.
type Alert struct {
	Fingerprint string
	StartsAt    time.Time
	EndsAt      *time.Time
	Alertname   string
	Service     string
	Action      EventType
	Reason      string
	Status      string // firing or resolved
	Labels      map[string]string
	Annotations map[string]string
	LastSeenAt  time.Time
}

// RecordNotification stores a notification and the state of its alerts
// atomically. It reports whether the notification had been recorded before:
// a duplicate changes nothing but the delivery counter and the alerts'
// last-seen time.
func (s *Store) RecordNotification(ctx context.Context, n Notification) (duplicate bool, err error) {
	dups, err := s.RecordNotifications(ctx, []Notification{n})
	if err != nil {
		return false, err
	}
	return dups[0], nil
}

// RecordNotifications stores several notifications in one transaction and
// reports, for each, whether it was a duplicate. Either all are recorded or
// none is.
//
// The statements go as one pipelined batch — one round trip, one implicit
// transaction, one commit — because the webhook answers only after it, and
// its throughput is bounded by commits, not by chatter.
func (s *Store) RecordNotifications(ctx context.Context, ns []Notification) ([]bool, error) {
	// Concurrent batches (an unpeered HA pair delivers the same
	// notifications to two writers at once) must take their row locks in
	// one global order, or two of them can deadlock: every notification row
	// in key order first, then every alert row in key order.
	order := make([]int, len(ns))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(ns[a].DedupKey, ns[b].DedupKey) })
	var alerts []*Alert
	for i := range ns {
		for j := range ns[i].Alerts {
			alerts = append(alerts, &ns[i].Alerts[j])
		}
	}
	slices.SortStableFunc(alerts, func(a, b *Alert) int {
		if c := strings.Compare(a.Fingerprint, b.Fingerprint); c != 0 {
			return c
		}
		return a.StartsAt.Compare(b.StartsAt)
	})

	b := &pgx.Batch{}
	for _, i := range order {
		n := ns[i]
		b.Queue(`INSERT INTO webhook_notifications (dedup_key, receiver, group_key, status, alert_count, payload)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (dedup_key) DO UPDATE
			SET deliveries = webhook_notifications.deliveries + 1, last_received_at = now()
			RETURNING xmax = 0`, n.DedupKey, n.Receiver, n.GroupKey, n.Status, len(n.Alerts), n.Payload)
	}
	// The alerts are upserted even for a duplicate: a repeat from
	// Alertmanager is identical to the first delivery, and it is what tells
	// us the alert is still firing (see FiringAlerts). Resolved is final for
	// an alert instance (a new firing has a new startsAt): a late,
	// re-delivered "firing" must not revive it.
	for _, a := range alerts {
		b.Queue(`INSERT INTO scaling_alerts
			(fingerprint, starts_at, ends_at, alertname, service_name, scaling_action, reason, status, labels, annotations)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			ON CONFLICT (fingerprint, starts_at) DO UPDATE SET
				status = CASE WHEN scaling_alerts.status = 'resolved' THEN 'resolved' ELSE excluded.status END,
				ends_at = CASE WHEN scaling_alerts.status = 'resolved' THEN scaling_alerts.ends_at ELSE excluded.ends_at END,
				labels = excluded.labels, annotations = excluded.annotations, last_seen_at = now()`,
			a.Fingerprint, a.StartsAt, a.EndsAt, a.Alertname, a.Service, a.Action, a.Reason, a.Status, a.Labels, a.Annotations)
	}
	br := s.pool.SendBatch(ctx, b)
	dups := make([]bool, len(ns))
	var err error
	for _, i := range order {
		var inserted bool
		if err = br.QueryRow().Scan(&inserted); err != nil {
			break
		}
		dups[i] = !inserted
	}
	for range alerts {
		if err != nil {
			break
		}
		_, err = br.Exec()
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("record notifications: %w", translate(err))
	}
	return dups, nil
}

// FiringAlerts lists the firing alerts seen since notBefore, for one service
// or (service "") all. Alerts Alertmanager has stopped repeating are left
// out: a lost "resolved" must not keep a service scaling forever.
func (s *Store) FiringAlerts(ctx context.Context, service string, notBefore time.Time) ([]Alert, error) {
	rows, err := s.pool.Query(ctx, `SELECT fingerprint, starts_at, ends_at, alertname, service_name, scaling_action, reason,
			status, labels, annotations, last_seen_at
		FROM scaling_alerts
		WHERE status = 'firing' AND ($1 = '' OR service_name = $1) AND last_seen_at >= $2
		ORDER BY service_name, starts_at`, service, notBefore)
	if err != nil {
		return nil, fmt.Errorf("firing alerts: %w", translate(err))
	}
	defer rows.Close()
	var out []Alert
	for rows.Next() {
		var a Alert
		if err := rows.Scan(&a.Fingerprint, &a.StartsAt, &a.EndsAt, &a.Alertname, &a.Service, &a.Action, &a.Reason,
			&a.Status, &a.Labels, &a.Annotations, &a.LastSeenAt); err != nil {
			return nil, fmt.Errorf("firing alerts: %w", translate(err))
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("firing alerts: %w", translate(err))
	}
	return out, nil
}

// NotificationDeliveries reports how many times a notification arrived.
func (s *Store) NotificationDeliveries(ctx context.Context, dedupKey string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT deliveries FROM webhook_notifications WHERE dedup_key = $1`, dedupKey).Scan(&n)
	return n, translate(err)
}

// NotificationCounts reports how many distinct notifications were recorded
// and how many deliveries they took (retries and HA duplicates included).
func (s *Store) NotificationCounts(ctx context.Context) (notifications, deliveries int, err error) {
	err = s.pool.QueryRow(ctx, `SELECT count(*), coalesce(sum(deliveries), 0) FROM webhook_notifications`).Scan(&notifications, &deliveries)
	return notifications, deliveries, translate(err)
}
