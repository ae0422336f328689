package fleet

import "github.com/prometheus/client_golang/prometheus"

const namespace = "wedsync_demo"

var (
	busyDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "", "busy_seconds_total"),
		"Sum over all worker slots of the time they were busy serving requests (the fleet's CPU seconds).", nil, nil)
	slotsDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "", "slots"),
		"Worker slots of the ready replicas (ready replicas × slots per replica).", nil, nil)
	replicasDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "", "replicas"),
		"Ready replicas.", nil, nil)
	desiredDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "", "desired_replicas"),
		"Replicas asked for through the admin API.", nil, nil)
	memUsedDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "memory", "used_bytes"),
		"Simulated resident memory of the fleet.", nil, nil)
	memLimitDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "memory", "limit_bytes"),
		"Memory limit of the ready replicas.", nil, nil)
	queueDesc = prometheus.NewDesc(prometheus.BuildFQName(namespace, "", "queue_length"),
		"Requests waiting for a free worker slot.", nil, nil)
)

// collector turns one pool snapshot into metrics at scrape time. Busy seconds in
// particular are computed then, not counted when requests finish: a counter bumped only
// on completion would lag by whole service times and read zero for a fleet stuck on long
// requests, while finished-plus-in-flight time makes rate() exact at every scrape.
type collector struct {
	pool *pool
}

func newCollector(p *pool) *collector { return &collector{pool: p} }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{busyDesc, slotsDesc, replicasDesc, desiredDesc, memUsedDesc, memLimitDesc, queueDesc} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.state()
	ch <- prometheus.MustNewConstMetric(busyDesc, prometheus.CounterValue, s.BusySeconds)
	ch <- prometheus.MustNewConstMetric(slotsDesc, prometheus.GaugeValue, float64(s.Slots))
	ch <- prometheus.MustNewConstMetric(replicasDesc, prometheus.GaugeValue, float64(s.Ready))
	ch <- prometheus.MustNewConstMetric(desiredDesc, prometheus.GaugeValue, float64(s.Desired))
	ch <- prometheus.MustNewConstMetric(memUsedDesc, prometheus.GaugeValue, float64(s.MemoryUsed))
	ch <- prometheus.MustNewConstMetric(memLimitDesc, prometheus.GaugeValue, float64(s.MemoryLimit))
	ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(s.Queued))
}
