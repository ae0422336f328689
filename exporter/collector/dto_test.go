package collector

import dto "github.com/prometheus/client_model/go"

type dtoMetric struct{ Metric dto.Metric }
