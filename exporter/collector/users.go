package collector

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shopspring/decimal"

	"github.com/wedsync/scaling/core/store"
)

// PhaseStore lists the growth phases.
type PhaseStore interface {
	ListPhases(ctx context.Context) ([]store.Phase, error)
}

// Counter runs a counting query against the application database.
type Counter interface {
	Number(ctx context.Context, query string) (decimal.Decimal, error)
}

var (
	usersDesc      = desc("users", "Users of WedSync, counted by the configured queries against the application database.", "state")
	phaseInfoDesc  = desc("growth_phase_info", "The active growth phase (1).", "phase")
	phaseMinDesc   = desc("growth_phase_min_users", "Users at which the active growth phase starts.", "phase")
	phaseMaxDesc   = desc("growth_phase_max_users", "Users at which the active growth phase ends (absent for the last, unbounded phase).", "phase")
	phaseOrderDesc = desc("growth_phase_order", "Position of the active growth phase (0 = startup).", "phase")
	phaseProgDesc  = desc("growth_phase_progress_ratio",
		"How far the total users are through the active phase: (users − min) / (max − min); above 1 once beyond it.", "phase")
)

// Users counts users and exports the growth phase they are in.
type Users struct {
	App         Counter // nil: no user counts, the phase alone
	TotalQuery  string
	ActiveQuery string
	Phases      PhaseStore
}

func (u Users) Update(ctx context.Context, now time.Time, ch chan<- prometheus.Metric) error {
	total := int64(-1)
	if u.App != nil && u.TotalQuery != "" {
		n, err := u.App.Number(ctx, u.TotalQuery)
		if err != nil {
			return fmt.Errorf("total users: %w", err)
		}
		total = n.IntPart()
		ch <- gauge(usersDesc, n, "total")
		if u.ActiveQuery != "" {
			a, err := u.App.Number(ctx, u.ActiveQuery)
			if err != nil {
				return fmt.Errorf("active users: %w", err)
			}
			ch <- gauge(usersDesc, a, "active")
		}
	}
	phases, err := u.Phases.ListPhases(ctx)
	if err != nil {
		return fmt.Errorf("growth phases: %w", err)
	}
	for _, p := range phases {
		if !p.Active {
			continue
		}
		ch <- gaugeF(phaseInfoDesc, 1, p.Name)
		ch <- gaugeF(phaseMinDesc, float64(p.MinUsers), p.Name)
		ch <- gaugeF(phaseOrderDesc, float64(p.Order), p.Name)
		if p.MaxUsers != nil {
			ch <- gaugeF(phaseMaxDesc, float64(*p.MaxUsers), p.Name)
			if total >= 0 {
				ch <- gaugeF(phaseProgDesc, float64(total-int64(p.MinUsers))/float64(*p.MaxUsers-p.MinUsers), p.Name)
			}
		}
	}
	return nil
}
