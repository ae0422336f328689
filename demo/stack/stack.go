// Package stack starts the whole scaling loop on loopback — PostgreSQL,
// Prometheus with the demo profile's rules, one or more Alertmanagers, the
// demo fleet and the autoscaler — in one throwaway folder, for `make demo`
// and the end-to-end test. Close stops everything; each child also dies
// with its parent, so Ctrl-C or a crash leaves nothing behind.
package stack

import (
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/template"
	"time"

	"github.com/wedsync/scaling/core/devstack"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/rules"
)

//go:embed policy.yml.tmpl
var policyTemplate string

// Options configures a stack.
type Options struct {
	// BinDir holds wedsync-autoscaler and wedsync-demo-api; empty means
	// build them into the stack's folder.
	BinDir string
	// Alertmanagers is how many unpeered Alertmanagers to run (default 1).
	// Two make every notification arrive twice.
	Alertmanagers int
	// ExtraServices is YAML appended under the policy's services (indented
	// by four spaces per level, as the template's api entry).
	ExtraServices string
	// FleetArgs are extra flags of wedsync-demo-api.
	FleetArgs []string
	// Durable keeps PostgreSQL's fsync on.
	Durable bool
	Logger  *slog.Logger
}

// Stack is a running loop.
type Stack struct {
	Dir           string
	Postgres      *devstack.Postgres
	Prometheus    *devstack.Server
	Alertmanagers []*devstack.Server
	Fleet         *devstack.Process
	Autoscaler    *devstack.Process
	Store         *store.Store

	DSN           string
	FleetURL      string
	AutoscalerURL string
	WebhookToken  string
	FleetToken    string
	PolicyFile    string

	autoscalerArgs []string
	binDir         string
	logger         *slog.Logger
	// Replicas are the autoscalers started by StartReplica.
	Replicas []*Replica
}

// Binaries the stack runs.
var Binaries = []string{"wedsync-autoscaler", "wedsync-demo-api"}

// Build compiles the binaries into dir with the go command of this machine.
func Build(ctx context.Context, dir string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", dir+string(os.PathSeparator),
		"github.com/wedsync/scaling/autoscaler/cmd/wedsync-autoscaler",
		"github.com/wedsync/scaling/demo/cmd/wedsync-demo-api")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build binaries: %w\n%s", err, out)
	}
	return nil
}

// Start brings the stack up. On error, whatever started is stopped.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	if opts.Alertmanagers == 0 {
		opts.Alertmanagers = 1
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	dir, err := devstack.TempDir("wedsync-stack-")
	if err != nil {
		return nil, err
	}
	s := &Stack{Dir: dir, logger: opts.Logger, WebhookToken: "webhook-" + randomToken(), FleetToken: "fleet-" + randomToken()}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if opts.BinDir == "" {
		opts.BinDir = filepath.Join(dir, "bin")
		s.logger.Info("building binaries", "dir", opts.BinDir)
		if err := Build(ctx, opts.BinDir); err != nil {
			return nil, err
		}
	}
	if opts.BinDir, err = filepath.Abs(opts.BinDir); err != nil {
		return nil, err
	}
	for _, b := range Binaries {
		if _, err := os.Stat(filepath.Join(opts.BinDir, b)); err != nil {
			return nil, fmt.Errorf("binary %s: %w (run `make build`)", b, err)
		}
	}
	webhookTokenFile := filepath.Join(dir, "webhook-token")
	fleetTokenFile := filepath.Join(dir, "fleet-token")
	if err := errors.Join(os.WriteFile(webhookTokenFile, []byte(s.WebhookToken+"\n"), 0o600),
		os.WriteFile(fleetTokenFile, []byte(s.FleetToken+"\n"), 0o600)); err != nil {
		return nil, err
	}

	s.logger.Info("starting PostgreSQL")
	if s.Postgres, err = devstack.StartPostgres(ctx, devstack.PostgresOptions{Durable: opts.Durable}); err != nil {
		return nil, err
	}
	if s.DSN, err = s.Postgres.CreateDatabase(ctx, "wedsync"); err != nil {
		return nil, err
	}
	if s.Store, err = store.Open(ctx, s.DSN); err != nil {
		return nil, err
	}
	if _, err := s.Store.Migrate(ctx); err != nil {
		return nil, err
	}
	// The demo fleet lives in the startup phase, with the bounds of the
	// demo policy (the seeded phase would cap it at 3 replicas).
	if err := s.demoPhase(ctx); err != nil {
		return nil, err
	}

	// Every member must know the others' addresses before it starts.
	ports, err := freePorts(3 + opts.Alertmanagers)
	if err != nil {
		return nil, err
	}
	fleetPort, autoscalerPort, promPort, amPorts := ports[0], ports[1], ports[2], ports[3:]
	s.FleetURL = "http://" + hostPort(fleetPort)
	s.AutoscalerURL = "http://" + hostPort(autoscalerPort)

	s.logger.Info("starting the demo fleet", "url", s.FleetURL)
	s.Fleet = &devstack.Process{Name: "wedsync-demo-api", Path: filepath.Join(opts.BinDir, "wedsync-demo-api"), Dir: dir,
		Args: append([]string{"--web.listen-address=" + hostPort(fleetPort), "--admin.token-file=" + fleetTokenFile}, opts.FleetArgs...)}
	if err := s.Fleet.Start(); err != nil {
		return nil, err
	}
	if err := waitHTTP(ctx, s.Fleet, s.FleetURL+"/readyz"); err != nil {
		return nil, err
	}

	files, err := rules.Render("demo", rules.Params{WebhookURL: s.AutoscalerURL + "/webhook/alertmanager", WebhookCredentialsFile: webhookTokenFile})
	if err != nil {
		return nil, fmt.Errorf("render rules: %w", err)
	}
	var amURLs, amTargets []string
	for i, port := range amPorts {
		s.logger.Info("starting Alertmanager", "n", i+1)
		am, err := devstack.StartAlertmanager(ctx, devstack.ServerOptions{Config: files["alertmanager.yml"], Port: port,
			Dir: mkdir(filepath.Join(dir, "alertmanager-"+strconv.Itoa(i+1)))})
		if err != nil {
			return nil, err
		}
		s.Alertmanagers = append(s.Alertmanagers, am)
		amURLs = append(amURLs, am.URL())
		amTargets = append(amTargets, "'"+hostPort(port)+"'")
	}

	s.logger.Info("starting Prometheus with the demo rules")
	promDir := mkdir(filepath.Join(dir, "prometheus"))
	s.Prometheus, err = devstack.StartPrometheus(ctx, devstack.ServerOptions{Port: promPort, Dir: promDir,
		Config: []byte(fmt.Sprintf(prometheusConfig, strings.Join(amTargets, ", "), hostPort(fleetPort), hostPort(autoscalerPort), hostPort(promPort))),
		Files: map[string][]byte{"rules/recording.rules.yml": files["recording.rules.yml"], "rules/alerting.rules.yml": files["alerting.rules.yml"],
			"rules/cost.rules.yml": files["cost.rules.yml"], "rules/long-term.rules.yml": files["long-term.rules.yml"],
			"rules/autoscaler.rules.yml": files["autoscaler.rules.yml"]},
		// 13 months: the spec keeps 12, and a month of slack keeps
		// year-over-year panels whole.
		Args: []string{"--storage.tsdb.retention.time=395d"}})
	if err != nil {
		return nil, err
	}

	var policy bytes.Buffer
	if err := template.Must(template.New("policy").Parse(policyTemplate)).Execute(&policy, map[string]string{
		"FleetURL": s.FleetURL, "FleetTokenFile": fleetTokenFile, "ExtraServices": opts.ExtraServices}); err != nil {
		return nil, err
	}
	s.PolicyFile = filepath.Join(dir, "policy.yml")
	dsnFile := filepath.Join(dir, "database-url")
	if err := errors.Join(os.WriteFile(s.PolicyFile, policy.Bytes(), 0o644), os.WriteFile(dsnFile, []byte(s.DSN), 0o600)); err != nil {
		return nil, err
	}
	// A short lease: a killed autoscaler's unfinished action is taken over
	// seconds later, not half a minute (the default, for real deployments).
	s.autoscalerArgs = []string{"serve", "--config.file=" + s.PolicyFile, "--database.url-file=" + dsnFile,
		"--web.external-url=" + s.AutoscalerURL, "--lease.ttl=5s",
		"--prometheus.url=" + s.Prometheus.URL(), "--web.webhook-token-file=" + webhookTokenFile}
	for _, u := range amURLs {
		s.autoscalerArgs = append(s.autoscalerArgs, "--alertmanager.url="+u)
	}
	s.binDir = opts.BinDir
	s.Autoscaler = &devstack.Process{Name: "wedsync-autoscaler", Path: filepath.Join(opts.BinDir, "wedsync-autoscaler"), Dir: dir,
		Args: append(slices.Clone(s.autoscalerArgs), "--web.listen-address="+hostPort(autoscalerPort))}
	if err := s.StartAutoscaler(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

const prometheusConfig = `
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - rules/recording.rules.yml
  - rules/alerting.rules.yml
  - rules/cost.rules.yml
  - rules/long-term.rules.yml
  - rules/autoscaler.rules.yml
alerting:
  alertmanagers:
    - static_configs:
        - targets: [%s]
scrape_configs:
  - job_name: wedsync-api
    static_configs:
      - targets: ['%s']
        labels: {service: api}
  - job_name: wedsync-autoscaler
    static_configs:
      - targets: ['%s']
  - job_name: prometheus
    static_configs:
      - targets: ['%s']
`

// StartAutoscaler starts (or restarts) the autoscaler and waits until it is
// ready.
func (s *Stack) StartAutoscaler(ctx context.Context) error {
	s.logger.Info("starting the autoscaler", "url", s.AutoscalerURL)
	if err := s.Autoscaler.Start(); err != nil {
		return err
	}
	return waitHTTP(ctx, s.Autoscaler, s.AutoscalerURL+"/healthz")
}

// Replica is another autoscaler on the same database and policy: it
// evaluates every service on its own sync loop and competes for actions
// (Alertmanager posts to the first one only; the others read the recorded
// alerts from the database).
type Replica struct {
	*devstack.Process
	URL string
}

// StartReplica starts one more autoscaler and waits until it is ready.
func (s *Stack) StartReplica(ctx context.Context) (*Replica, error) {
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	n := len(s.Replicas) + 2
	r := &Replica{URL: "http://" + hostPort(ports[0]), Process: &devstack.Process{Name: "wedsync-autoscaler-" + strconv.Itoa(n),
		Path: filepath.Join(s.binDir, "wedsync-autoscaler"), Dir: s.Dir,
		Args: append(slices.Clone(s.autoscalerArgs), "--web.listen-address="+hostPort(ports[0]))}}
	if err := r.Start(); err != nil {
		return nil, err
	}
	s.Replicas = append(s.Replicas, r)
	return r, waitHTTP(ctx, r.Process, r.URL+"/healthz")
}

// Close stops every member and removes the folder.
func (s *Stack) Close() {
	for _, r := range s.Replicas {
		r.Stop(syscall.SIGTERM, 5*time.Second)
	}
	for _, p := range []*devstack.Process{s.Autoscaler, s.Fleet} {
		if p != nil {
			p.Stop(syscall.SIGTERM, 5*time.Second)
		}
	}
	if s.Prometheus != nil {
		s.Prometheus.Close()
	}
	for _, am := range s.Alertmanagers {
		am.Close()
	}
	if s.Store != nil {
		s.Store.Close()
	}
	if s.Postgres != nil {
		s.Postgres.Close()
	}
	os.RemoveAll(s.Dir)
}

// FleetState reads the fleet's ready and desired replicas.
func (s *Stack) FleetState(ctx context.Context) (ready, desired int, err error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.FleetURL+"/admin/replicas", nil)
	req.Header.Set("Authorization", "Bearer "+s.FleetToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	var st struct{ Replicas, Desired int }
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return 0, 0, fmt.Errorf("fleet state: %w", err)
	}
	return st.Replicas, st.Desired, nil
}

func waitHTTP(ctx context.Context, p *devstack.Process, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.Exited():
			return fmt.Errorf("%s exited during start-up:\n%s", p.Name, p.LogTail(3000))
		case <-ctx.Done():
			return fmt.Errorf("%s not ready at %s:\n%s", p.Name, url, p.LogTail(3000))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func freePorts(n int) ([]int, error) {
	seen := map[int]bool{}
	var out []int
	for len(out) < n {
		p, err := devstack.FreePort()
		if err != nil {
			return nil, err
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out, nil
}

func hostPort(p int) string { return "127.0.0.1:" + strconv.Itoa(p) }

func mkdir(p string) string {
	os.MkdirAll(p, 0o755)
	return p
}

func randomToken() string { return rand.Text() }

func (s *Stack) demoPhase(ctx context.Context) error {
	ph, err := s.Store.ActivePhase(ctx)
	if err != nil {
		return err
	}
	_, err = s.Store.UpdatePhase(ctx, ph.ID, store.PhaseUpdate{
		ScalingConfig: []byte(`{"services": {"api": {"min_replicas": 2, "max_replicas": 12}}}`)})
	return err
}
