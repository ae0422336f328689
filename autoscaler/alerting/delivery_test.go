package alerting

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-openapi/strfmt"
	amclient "github.com/prometheus/alertmanager/api/v2/client"
	"github.com/prometheus/alertmanager/api/v2/client/alert"
	"gopkg.in/yaml.v3"

	"github.com/wedsync/scaling/core/devstack"
	"github.com/wedsync/scaling/core/store"
	"github.com/wedsync/scaling/core/storetest"
	"github.com/wedsync/scaling/loadtest/record"
	"github.com/wedsync/scaling/rules"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// slackSink is a Slack incoming webhook on loopback: it keeps the title of
// every message Alertmanager sends it.
type slackSink struct {
	mu     sync.Mutex
	titles []string
	bodies []string
}

func (s *slackSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var msg struct {
		Attachments []struct {
			Title string `json:"title"`
		} `json:"attachments"`
	}
	if err := json.Unmarshal(b, &msg); err != nil || len(msg.Attachments) == 0 {
		http.Error(w, "not a Slack message", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.titles = append(s.titles, msg.Attachments[0].Title)
	s.bodies = append(s.bodies, string(b))
	s.mu.Unlock()
	w.Write([]byte("ok"))
}

func (s *slackSink) count(title string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.titles {
		if t == title {
			n++
		}
	}
	return n
}

func (s *slackSink) waitFor(t *testing.T, ctx context.Context, title string) string {
	t.Helper()
	for {
		s.mu.Lock()
		if i := slices.Index(s.titles, title); i >= 0 {
			body := s.bodies[i]
			s.mu.Unlock()
			return body
		}
		seen := slices.Clone(s.titles)
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			t.Fatalf("no %q at the Slack sink (got %q)", title, seen)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// A real Alertmanager, loaded with the configuration rules renders for the
// demo profile (its Slack integration reading a local sink's URL from a
// file, its email one logging in to a local SMTP sink with a password
// file), delivers a failed action to people, keeps it firing past its
// first lifetime while it is renewed from the event log, and delivers the
// resolution when a later event of the service ends it. A failure that
// nobody renews resolves after its lifetime: renewal is what kept the
// first one alive.
func TestFailureNotifications(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	sink := &slackSink{}
	slack := httptest.NewServer(sink)
	defer slack.Close()

	smtp := startSMTPSink(t)
	dir, err := devstack.TempDir("wedsync-alerting-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	params := rules.Params{
		// Not routed: these alerts carry no scaling_action.
		WebhookURL:             "http://127.0.0.1:1/webhook/alertmanager",
		WebhookCredentialsFile: filepath.Join(dir, "webhook-token"),
		SlackWebhookURLFile:    filepath.Join(dir, "slack-webhook-url"),
		Email: rules.EmailParams{To: "oncall@wedsync.test", From: "alertmanager@wedsync.test", Smarthost: smtp.Addr(),
			AuthUsername: "alertmanager", AuthPasswordFile: filepath.Join(dir, "smtp-password"), NoTLS: true},
	}
	files, err := rules.Render("demo", params)
	if err != nil {
		t.Fatal(err)
	}
	am, err := devstack.StartAlertmanager(ctx, devstack.ServerOptions{Dir: dir, Config: files[rules.AlertmanagerFile],
		Files: map[string][]byte{"webhook-token": []byte("token\n"), "slack-webhook-url": []byte(slack.URL + "/services/T0/B0/x\n"),
			"smtp-password": []byte("s3cret-from-a-file")}})
	if err != nil {
		t.Fatal(err)
	}
	defer am.Close()

	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	const every = time.Second
	a, err := NewAlertmanager([]string{am.URL()}, "http://autoscaler.test:9681", logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.RenewEvery(every); err != nil {
		t.Fatal(err)
	}
	lifetime := FailureLifetime(every)

	st := storetest.New(t)
	start := time.Now()
	fail := func(service string) store.Event {
		t.Helper()
		e, err := st.BeginEvent(ctx, store.NewEvent{Type: store.EventScaleUp, Service: service, TriggerReason: "high_cpu_usage",
			Before: []byte(`{"replicas": 2}`), After: []byte(`{"replicas": 4}`), InitiatedBy: "autoscaler"})
		if err != nil {
			t.Fatal(err)
		}
		if e, err = st.FinishEvent(ctx, e.ID, store.StatusFailed, "PUT http://fleet/admin/replicas: 503"); err != nil {
			t.Fatal(err)
		}
		return e
	}
	renew := func() {
		t.Helper()
		active, err := st.ActiveFailures(ctx, start)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.RenewFailures(ctx, active); err != nil {
			t.Fatal(err)
		}
	}

	ev := fail("api")
	posted := time.Now()
	if err := a.ActionFailed(ctx, ev); err != nil {
		t.Fatal(err)
	}
	// The other failure is posted by an alerter nobody renews.
	lone, err := NewAlertmanager([]string{am.URL()}, "", logger)
	if err != nil {
		t.Fatal(err)
	}
	lone.RenewEvery(every)
	if err := lone.ActionFailed(ctx, failedEvent("e-unrenewed", "worker")); err != nil {
		t.Fatal(err)
	}

	const firing, resolved = "FIRING: Scaling action on api failed", "RESOLVED: Scaling action on api failed"
	body := sink.waitFor(t, ctx, firing)
	for _, want := range []string{"#wedsync-autoscaler", "PUT http://fleet/admin/replicas: 503", "docs/runbooks/WedsyncScalingActionFailed.md"} {
		if !strings.Contains(body, want) {
			t.Errorf("Slack message lacks %q:\n%s", want, body)
		}
	}

	// Renewed every interval for two and a half lifetimes.
	for time.Since(posted) < lifetime*5/2 {
		renew()
		time.Sleep(every)
	}
	sink.waitFor(t, ctx, "RESOLVED: Scaling action on worker failed") // unrenewed: lapsed
	if n := sink.count(resolved); n != 0 {
		t.Fatalf("api resolved while renewed %s past its first lifetime", time.Since(posted)-lifetime)
	}
	c := amclient.NewHTTPClientWithConfig(strfmt.Default, amclient.DefaultTransportConfig().
		WithHost(strings.TrimPrefix(am.URL(), "http://")).WithBasePath("/api/v2").WithSchemes([]string{"http"}))
	resp, err := c.Alert.GetAlerts(alert.NewGetAlertsParamsWithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	var active []string
	for _, al := range resp.Payload {
		active = append(active, al.Labels["event_id"])
	}
	if !slices.Equal(active, []string{ev.ID}) {
		t.Fatalf("active alerts %q, want only the renewed failure %s", active, ev.ID)
	}

	// A retry completes: the failure is over, and people hear it.
	retry, err := st.BeginEvent(ctx, store.NewEvent{Type: store.EventScaleUp, Service: "api", TriggerReason: "retry",
		Before: []byte(`{"replicas": 2}`), After: []byte(`{"replicas": 4}`), InitiatedBy: "manual"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.FinishEvent(ctx, retry.ID, store.StatusCompleted, ""); err != nil {
		t.Fatal(err)
	}
	ended := time.Now()
	for sink.count(resolved) == 0 && ctx.Err() == nil {
		renew()
		time.Sleep(every)
	}
	sink.waitFor(t, ctx, resolved)
	t.Logf("resolution delivered %s after the retry (demo group_interval 5s); first lifetime %s", time.Since(ended).Round(100*time.Millisecond), lifetime)
	// The same notifications by email, logged in with the password file.
	const mailFiring, mailResolved = "[FIRING:1] WedsyncScalingActionFailed api", "[RESOLVED] WedsyncScalingActionFailed api"
	for smtp.count(mailResolved) == 0 && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
	smtp.mu.Lock()
	subjects, auths, rcpts := slices.Clone(smtp.subjects), slices.Clone(smtp.auths), slices.Clone(smtp.rcpts)
	smtp.mu.Unlock()
	if smtp.count(mailFiring) == 0 || smtp.count(mailResolved) == 0 || len(auths) == 0 ||
		slices.ContainsFunc(auths, func(a string) bool { return a != "alertmanager:s3cret-from-a-file" }) ||
		!slices.ContainsFunc(rcpts, func(r string) bool { return strings.Contains(r, "oncall@wedsync.test") }) {
		t.Errorf("mail: subjects %q, logins %q, recipients %q", subjects, auths, rcpts)
	}
	if n := sink.count(firing); n != 1 {
		t.Errorf("%d firing notifications for one failure, want 1 (repeat_interval is longer than the test)", n)
	}
}

// TestAutoscalerAlertNames: rules routes the autoscaler's own alerts by a
// copy of their names; the owners are this package, loadtest/record and
// rules' own autoscaler.rules.yml.
func TestAutoscalerAlertNames(t *testing.T) {
	t.Parallel()
	want := []string{AlertName, OverCeilingAlertName, record.AlertName}
	files, err := rules.Render("production", rules.DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	var rf struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(files[rules.AutoscalerRulesFile], &rf); err != nil {
		t.Fatal(err)
	}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			want = append(want, r.Alert)
		}
	}
	got := slices.Sorted(slices.Values(rules.AutoscalerAlerts))
	if slices.Sort(want); !slices.Equal(got, want) {
		t.Errorf("rules.AutoscalerAlerts = %q, want the posted and rule alerts %q", got, want)
	}
}
