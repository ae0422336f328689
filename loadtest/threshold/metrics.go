package threshold

// Info is what is known of a metric: its k6 type and what its values
// contain (time in milliseconds, data in bytes, or plain numbers).
type Info struct {
	Type     string
	Contains string // time, data, default
	// PerRequest metrics are recorded for every request and can be filtered
	// by tag (sub-metrics).
	PerRequest bool
}

// Metrics are the k6 built-in metrics wedsync-load measures. Thresholds on
// any other metric (http_req_waiting, checks, …) are refused, because they
// would never be evaluated.
var Metrics = map[string]Info{
	"http_reqs":          {Type: Counter, Contains: "default", PerRequest: true},
	"http_req_duration":  {Type: Trend, Contains: "time", PerRequest: true},
	"http_req_failed":    {Type: Rate, Contains: "default", PerRequest: true},
	"iterations":         {Type: Counter, Contains: "default"},
	"iteration_duration": {Type: Trend, Contains: "time"},
	"dropped_iterations": {Type: Counter, Contains: "default"},
	"vus":                {Type: Gauge, Contains: "default"},
	"vus_max":            {Type: Gauge, Contains: "default"},
	"data_sent":          {Type: Counter, Contains: "data"},
	"data_received":      {Type: Counter, Contains: "data"},
}
