package api

import (
	"context"
	"fmt"
	"math"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// Querier is the part of Prometheus' API client the API reads with.
type Querier interface {
	Query(ctx context.Context, query string, ts time.Time, opts ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error)
	QueryRange(ctx context.Context, query string, r promv1.Range, opts ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error)
}

var _ Querier = promv1.NewAPI(nil)

func (s *Server) prometheus() (Querier, error) {
	if s.cfg.Prometheus == nil {
		return nil, &apiError{Status: 503, Code: "unavailable", Message: "no Prometheus configured"}
	}
	return s.cfg.Prometheus, nil
}

// byService evaluates q and returns its value per `service` label. NaN
// values (no traffic) are left out.
func byService(ctx context.Context, p Querier, q string, at time.Time) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	v, _, _, err := p.Query(ctx, q, at)
	if err != nil {
		return nil, &apiError{Status: 503, Code: "unavailable", Message: fmt.Sprintf("Prometheus: %v", err)}
	}
	out := map[string]float64{}
	if vec, ok := v.(model.Vector); ok {
		for _, smp := range vec {
			f := float64(smp.Value)
			if !math.IsNaN(f) && !math.IsInf(f, 0) {
				out[string(smp.Metric["service"])] = f
			}
		}
	}
	return out, nil
}
