// Package exporter is the module of wedsync-exporter, the cost and capacity
// exporter of the WedSync control plane (cmd/wedsync-exporter). Its
// packages:
//
//   - billing: the billing sources, one file each (OpenAI, Vercel, Twilio,
//     Supabase estimate, FOCUS files, manual entries) behind Source;
//   - attribution: rules mapping cost lines to teams and features;
//   - ingest: each source refreshed in the background (interval, timeout,
//     backoff), its lines checked and written to cost_tracking day by day;
//   - collector: the metrics (costs, budgets, projections, capacity, users
//     and growth phase, custom metrics), rendered once per refresh and
//     served from that rendering at scrape time;
//   - config: the configuration file (config.example.yml documents it).
//
// Metric names and the cost-alert contract are in docs/contracts.md.
package exporter
