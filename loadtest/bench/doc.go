// Package bench holds wedsync-load's benchmarks (scripts/bench.d/30-loadtest.sh):
// maximum requests/s side by side with wrk and vegeta against one minimal
// loopback target, and the latency truth against a target that stalls.
package bench
