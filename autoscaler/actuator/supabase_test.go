package actuator

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wedsync/scaling/core/config"
)

// reply is one recorded response: a status, a file under testdata/ (empty:
// no body) and headers.
type reply struct {
	status int
	file   string
	header map[string]string
}

func ok(file string) reply { return reply{status: http.StatusOK, file: file} }

// exchange is a request the replay server received.
type exchange struct {
	method, path, query, body, auth string
}

// replayServer answers "METHOD /path" (or "METHOD /path?query", matched
// first) from recorded files. Several replies for a route are served in
// order and the last one repeats, so a test can script a sequence such as
// 409 then 200. An unexpected request fails the test.
type replayServer struct {
	t      *testing.T
	mu     sync.Mutex
	routes map[string][]reply
	log    []exchange
	// gate, if set, answers before the routes (authentication checks).
	gate func(r *http.Request) *reply
}

func newReplay(t *testing.T) *replayServer {
	return &replayServer{t: t, routes: map[string][]reply{}}
}

func (s *replayServer) set(route string, replies ...reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.routes[route] = replies
}

func (s *replayServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.log = append(s.log, exchange{r.Method, r.URL.Path, r.URL.RawQuery, string(body), r.Header.Get("Authorization")})
	var rep *reply
	if s.gate != nil {
		rep = s.gate(r)
	}
	if rep == nil {
		key := r.Method + " " + r.URL.Path
		q, found := s.routes[key+"?"+r.URL.RawQuery]
		if !found || r.URL.RawQuery == "" {
			q, found = s.routes[key]
		} else {
			key += "?" + r.URL.RawQuery
		}
		if !found || len(q) == 0 {
			s.mu.Unlock()
			s.t.Errorf("unexpected request %s %s?%s", r.Method, r.URL.Path, r.URL.RawQuery)
			http.Error(w, "no recorded response", http.StatusTeapot)
			return
		}
		rep = &q[0]
		if len(q) > 1 {
			s.routes[key] = q[1:]
		}
	}
	s.mu.Unlock()
	var data []byte
	if rep.file != "" {
		var err error
		if data, err = os.ReadFile(filepath.Join("testdata", rep.file)); err != nil {
			s.t.Errorf("recorded response: %v", err)
		}
	}
	if strings.HasSuffix(rep.file, ".html") {
		w.Header().Set("Content-Type", "text/html")
	} else if rep.file != "" {
		w.Header().Set("Content-Type", "application/json")
	}
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(rep.status)
	w.Write(data)
}

// requests returns the exchanges so far with the given method ("" = all).
func (s *replayServer) requests(method string) []exchange {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []exchange
	for _, e := range s.log {
		if method == "" || e.method == method {
			out = append(out, e)
		}
	}
	return out
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const (
	testRef     = "wedsyncprodabcdefghi"
	testOrg     = "wedsyncorgslugabcdef"
	projectPath = "/v1/projects/" + testRef
	addonsPath  = projectPath + "/billing/addons"
	orgPath     = "/v1/organizations/" + testOrg + "/projects"
	setupPath   = projectPath + "/read-replicas/setup"
	removePath  = projectPath + "/read-replicas/remove"
)

func tokenFile(t *testing.T, value string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "supabase-token")
	if err := os.WriteFile(p, []byte(value+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// newTestSupabase starts a replay server and an actuator on it, with a fake
// clock. Advance the clock by more than 10 s to get past the read cache.
func newTestSupabase(t *testing.T, cfg SupabaseConfig) (*Supabase, *replayServer, *fakeClock) {
	t.Helper()
	api := newReplay(t)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	cfg.APIURL = srv.URL
	cfg.ProjectRef = testRef
	if cfg.AccessToken.IsZero() {
		cfg.AccessToken = config.Secret{File: tokenFile(t, "sbp_test_token")}
	}
	if errs := cfg.Validate("a"); len(errs) > 0 {
		t.Fatalf("test config invalid: %v", errs)
	}
	s, err := NewSupabase(cfg, discard)
	if err != nil {
		t.Fatal(err)
	}
	clk := newClock()
	s.now = clk.Now
	return s, api, clk
}

const poll = 11 * time.Second // just past the default min_read_interval

func wantInProgress(t *testing.T, step string, st State, err error, want string) {
	t.Helper()
	if !errors.Is(err, ErrInProgress) {
		t.Fatalf("%s: Current = %v, %v; want an in-progress error", step, st, err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("%s: error %q does not say %q", step, err, want)
	}
}

// A compute change: read the tier, apply, the project restarts (Current
// keeps saying "not yet"), comes back healthy on the new tier.
func TestSupabaseRecordedComputeChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, api, clk := newTestSupabase(t, SupabaseConfig{Resource: SupabaseCompute})
	api.set("GET "+projectPath, ok("supabase/project_active_healthy.json"))
	api.set("GET "+addonsPath, ok("supabase/addons_ci_micro.json"))
	api.set("PATCH "+addonsPath, ok("supabase/empty_object.json"))

	if cur, err := s.Current(ctx); err != nil || cur != (State{Tier: "ci_micro"}) {
		t.Fatalf("current = %v, %v", cur, err)
	}
	if err := s.Apply(ctx, State{Tier: "ci_small"}); err != nil {
		t.Fatal(err)
	}
	patches := api.requests(http.MethodPatch)
	if len(patches) != 1 {
		t.Fatalf("%d PATCH requests, want 1", len(patches))
	}
	var body map[string]string
	if err := json.Unmarshal([]byte(patches[0].body), &body); err != nil || body["addon_type"] != "compute_instance" || body["addon_variant"] != "ci_small" {
		t.Fatalf("PATCH body %s", patches[0].body)
	}

	// The add-on names the new size at once, before the project restarts.
	api.set("GET "+addonsPath, ok("supabase/addons_ci_small.json"))
	st, err := s.Current(ctx)
	wantInProgress(t, "before the restart", st, err, "waiting for the project to restart")
	for _, status := range []string{"resizing", "restarting", "coming_up"} {
		clk.Add(poll)
		api.set("GET "+projectPath, ok("supabase/project_"+status+".json"))
		st, err := s.Current(ctx)
		wantInProgress(t, status, st, err, "status "+strings.ToUpper(status))
	}
	clk.Add(poll)
	api.set("GET "+projectPath, ok("supabase/project_active_healthy.json"))
	if cur, err := s.Current(ctx); err != nil || cur != (State{Tier: "ci_small"}) {
		t.Fatalf("after the restart: current = %v, %v", cur, err)
	}

	// Applying again (a resumed action) sends nothing.
	if err := s.Apply(ctx, State{Tier: "ci_small"}); err != nil {
		t.Fatal(err)
	}
	if n := len(api.requests(http.MethodPatch)); n != 1 {
		t.Fatalf("%d PATCH requests after a repeated Apply, want 1", n)
	}
	for _, e := range api.requests("") {
		if e.auth != "Bearer sbp_test_token" {
			t.Fatalf("%s %s sent Authorization %q", e.method, e.path, e.auth)
		}
	}
}

// A project that never shows a restart is believed after the grace period,
// and the add-on still naming the old size reads as the old size.
func TestSupabaseComputeWithoutVisibleRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, api, clk := newTestSupabase(t, SupabaseConfig{Resource: SupabaseCompute})
	api.set("GET "+projectPath, ok("supabase/project_active_healthy.json"))
	api.set("GET "+addonsPath, ok("supabase/addons_ci_micro.json"))
	api.set("PATCH "+addonsPath, ok("supabase/empty_object.json"))
	if err := s.Apply(ctx, State{Tier: "ci_small"}); err != nil {
		t.Fatal(err)
	}
	if cur, err := s.Current(ctx); err != nil || cur != (State{Tier: "ci_micro"}) {
		t.Fatalf("old add-on still listed: current = %v, %v", cur, err)
	}
	clk.Add(poll)
	api.set("GET "+addonsPath, ok("supabase/addons_ci_small.json"))
	st, err := s.Current(ctx)
	wantInProgress(t, "within the grace period", st, err, "waiting for the project to restart")
	clk.Add(time.Minute)
	if cur, err := s.Current(ctx); err != nil || cur != (State{Tier: "ci_small"}) {
		t.Fatalf("after the grace period: current = %v, %v", cur, err)
	}
}

// Current answers from its last reading within min_read_interval: the
// scaler polls every 500 ms and the API allows 120 requests a minute.
func TestSupabaseReadInterval(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, api, clk := newTestSupabase(t, SupabaseConfig{Resource: SupabaseCompute})
	api.set("GET "+projectPath, ok("supabase/project_restarting.json"))
	for range 5 {
		_, err := s.Current(ctx)
		wantInProgress(t, "cached", State{}, err, "RESTARTING")
		clk.Add(time.Second)
	}
	if n := len(api.requests("")); n != 1 {
		t.Fatalf("%d requests for 5 reads within 10s, want 1", n)
	}
	clk.Add(poll)
	api.set("GET "+projectPath, ok("supabase/project_active_healthy.json"))
	api.set("GET "+addonsPath, ok("supabase/addons_ci_micro.json"))
	if cur, err := s.Current(ctx); err != nil || cur.Tier != "ci_micro" {
		t.Fatalf("after the interval: %v, %v", cur, err)
	}
}

func TestSupabaseRecordedErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		routes  map[string][]reply
		apply   *State // nil: call Current
		want    []string
		code    int
		retryIn time.Duration
		noPatch bool
	}{
		{name: "401", routes: map[string][]reply{"GET " + projectPath: {{status: 401, file: "supabase/error_401.json"}}},
			want: []string{"GET http://127.0.0.1", projectPath, "401 Unauthorized", "access token was refused", ": Unauthorized"}, code: 401},
		{name: "403", routes: map[string][]reply{"GET " + projectPath: {{status: 403, file: "supabase/error_403.json"}}},
			want: []string{"403 Forbidden", "may not do this on supabase project " + testRef, "necessary privileges"}, code: 403},
		{name: "404", routes: map[string][]reply{"GET " + projectPath: {{status: 404, file: "supabase/error_404.json"}}},
			want: []string{"404 Not Found", "supabase project " + testRef + " (or its organization) does not exist", "Project not found"}, code: 404},
		{name: "409 on PATCH", apply: &State{Tier: "ci_medium"}, routes: map[string][]reply{
			"GET " + projectPath:  {ok("supabase/project_active_healthy.json")},
			"GET " + addonsPath:   {ok("supabase/addons_ci_micro.json")},
			"PATCH " + addonsPath: {{status: 409, file: "supabase/error_409.json"}}},
			want: []string{"PATCH", "409 Conflict", "busy with another change", "already in progress"}, code: 409},
		{name: "429 Retry-After seconds", routes: map[string][]reply{"GET " + projectPath: {{status: 429, file: "supabase/error_429.json", header: map[string]string{"Retry-After": "30"}}}},
			want: []string{"429 Too Many Requests", "retry after 2026-06-01T12:00:30Z (in 30s)", "Too many requests"}, code: 429, retryIn: 30 * time.Second},
		{name: "429 Retry-After date", routes: map[string][]reply{"GET " + projectPath: {{status: 429, file: "supabase/error_429.json", header: map[string]string{"Retry-After": "Mon, 01 Jun 2026 12:02:00 GMT"}}}},
			want: []string{"retry after 2026-06-01T12:02:00Z (in 2m0s)"}, code: 429, retryIn: 2 * time.Minute},
		{name: "429 X-RateLimit-Reset", routes: map[string][]reply{"GET " + projectPath: {{status: 429, file: "supabase/error_429.json", header: map[string]string{"X-RateLimit-Reset": "42"}}}},
			want: []string{"(in 42s)"}, code: 429, retryIn: 42 * time.Second},
		{name: "500 on PATCH", apply: &State{Tier: "ci_medium"}, routes: map[string][]reply{
			"GET " + projectPath:  {ok("supabase/project_active_healthy.json")},
			"GET " + addonsPath:   {ok("supabase/addons_ci_micro.json")},
			"PATCH " + addonsPath: {{status: 500, file: "supabase/error_500.json"}}},
			want: []string{"500 Internal Server Error: Failed to apply project addon"}, code: 500},
		{name: "503 from a gateway", routes: map[string][]reply{"GET " + projectPath: {{status: 503, file: "supabase/error_503.html", header: map[string]string{"Retry-After": "120"}}}},
			want: []string{"503 Service Unavailable", "(retry after 2026-06-01T12:02:00Z (in 2m0s)): <html>"}, code: 503, retryIn: 2 * time.Minute},
		{name: "unknown variant", apply: &State{Tier: "ci_huge"}, routes: map[string][]reply{
			"GET " + projectPath: {ok("supabase/project_active_healthy.json")},
			"GET " + addonsPath:  {ok("supabase/addons_ci_micro.json")}},
			want: []string{`compute variant "ci_huge" is not offered for this project (available: ci_micro, ci_small, ci_medium`}, noPatch: true},
		{name: "apply during another resize", apply: &State{Tier: "ci_large"}, routes: map[string][]reply{
			"GET " + projectPath: {ok("supabase/project_resizing.json")},
			"GET " + addonsPath:  {ok("supabase/addons_ci_small.json")}},
			want: []string{"project " + testRef + " is RESIZING; not requesting compute ci_large"}, noPatch: true},
		{name: "replicas asked of compute", apply: &State{Replicas: 2},
			want: []string{"resource compute is set by tier, got 2 replicas"}, noPatch: true},
		{name: "paused project", routes: map[string][]reply{"GET " + projectPath: {ok("supabase/project_inactive.json")}},
			want: []string{"supabase project " + testRef + " is INACTIVE, not running"}},
		{name: "free plan", routes: map[string][]reply{
			"GET " + projectPath: {ok("supabase/project_active_healthy.json")},
			"GET " + addonsPath:  {ok("supabase/addons_free_plan.json")}},
			want: []string{"no compute_instance add-on selected"}},
		{name: "not a project", routes: map[string][]reply{"GET " + projectPath: {{status: 200, file: "supabase/error_503.html"}}},
			want: []string{"response is not a project: <html>"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, api, clk := newTestSupabase(t, SupabaseConfig{Resource: SupabaseCompute})
			for route, replies := range tc.routes {
				api.set(route, replies...)
			}
			call := func() error {
				if tc.apply != nil {
					return s.Apply(ctx, *tc.apply)
				}
				_, err := s.Current(ctx)
				return err
			}
			err := call()
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, ErrInProgress) {
				t.Fatalf("%v: reported as in progress", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\ndoes not contain\n%s", err, w)
				}
			}
			if strings.Contains(err.Error(), "sbp_test_token") {
				t.Errorf("error leaks the token: %v", err)
			}
			var se *StatusError
			if tc.code != 0 {
				if !errors.As(err, &se) || se.Code != tc.code {
					t.Fatalf("error %v is not a StatusError with code %d", err, tc.code)
				}
				if want := clk.Now().Add(tc.retryIn); tc.retryIn != 0 && !se.RetryAt.Equal(want) {
					t.Errorf("RetryAt = %v, want %v", se.RetryAt, want)
				}
				if se.Temporary() != (tc.code == 409 || tc.code == 429 || tc.code >= 500) {
					t.Errorf("Temporary() = %v for %d", se.Temporary(), tc.code)
				}
			}
			if tc.noPatch && len(api.requests(http.MethodPatch)) != 0 {
				t.Errorf("a PATCH was sent")
			}
			if tc.code == 429 {
				// Within the window nothing is sent: the error repeats.
				n := len(api.requests(""))
				clk.Add(tc.retryIn / 2)
				err2 := call()
				if !errors.As(err2, &se) || se.Code != 429 || len(api.requests("")) != n {
					t.Fatalf("inside the rate-limit window: %v, %d requests (was %d)", err2, len(api.requests("")), n)
				}
				clk.Add(tc.retryIn)
				api.set("GET "+projectPath, ok("supabase/project_active_healthy.json"))
				api.set("GET "+addonsPath, ok("supabase/addons_ci_micro.json"))
				if cur, err := s.Current(ctx); err != nil || cur.Tier != "ci_micro" {
					t.Fatalf("after the window: %v, %v", cur, err)
				}
			}
		})
	}
}

// A refused token is read again from its file, so a rotated secret is
// picked up without a restart.
func TestSupabaseTokenRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	file := tokenFile(t, "sbp_old")
	s, api, clk := newTestSupabase(t, SupabaseConfig{Resource: SupabaseCompute, AccessToken: config.Secret{File: file}})
	api.gate = func(r *http.Request) *reply {
		if r.Header.Get("Authorization") != "Bearer sbp_new" {
			return &reply{status: 401, file: "supabase/error_401.json"}
		}
		return nil
	}
	api.set("GET "+projectPath, ok("supabase/project_active_healthy.json"))
	api.set("GET "+addonsPath, ok("supabase/addons_ci_small.json"))
	if err := os.WriteFile(file, []byte("sbp_new\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Current(ctx); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("first call: %v, want 401", err)
	}
	clk.Add(poll)
	if cur, err := s.Current(ctx); err != nil || cur.Tier != "ci_small" {
		t.Fatalf("after rotation: %v, %v", cur, err)
	}
}

func TestSupabaseRecordedReadReplicas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, api, clk := newTestSupabase(t, SupabaseConfig{Resource: SupabaseReadReplicas})
	list := "GET " + orgPath + "?limit=100&offset=0"
	api.set("GET "+projectPath, ok("supabase/project_active_healthy.json"))
	api.set(list, ok("supabase/org_projects_1_replica.json"))
	api.set("POST "+setupPath, reply{status: 201})
	api.set("POST "+removePath, reply{status: 201})

	if cur, err := s.Current(ctx); err != nil || cur != (State{Replicas: 1}) {
		t.Fatalf("current = %v, %v", cur, err)
	}
	if err := s.Apply(ctx, State{Replicas: 2}); err != nil {
		t.Fatal(err)
	}
	setups := api.requests(http.MethodPost)
	if len(setups) != 1 || setups[0].body != `{"read_replica_region":"eu-west-2"}` {
		t.Fatalf("setup requests %+v, want one in the project's region", setups)
	}

	api.set(list, ok("supabase/org_projects_1_replica_1_coming_up.json"))
	st, err := s.Current(ctx)
	wantInProgress(t, "replica coming up", st, err, "-rr-eu-west-2-tmwpa INIT_READ_REPLICA")
	// A resumed action counts the replica being set up: nothing is sent.
	if err := s.Apply(ctx, State{Replicas: 2}); err != nil {
		t.Fatal(err)
	}
	if n := len(api.requests(http.MethodPost)); n != 1 {
		t.Fatalf("%d POSTs after a repeated Apply, want 1", n)
	}
	clk.Add(poll)
	api.set(list, ok("supabase/org_projects_2_replicas.json"))
	if cur, err := s.Current(ctx); err != nil || cur != (State{Replicas: 2}) {
		t.Fatalf("after set-up: current = %v, %v", cur, err)
	}

	// Scaling in removes the replica in the region the actuator adds to,
	// not the one placed in us-east-1.
	api.set(list, ok("supabase/org_projects_2_replicas_2_regions.json"))
	if err := s.Apply(ctx, State{Replicas: 1}); err != nil {
		t.Fatal(err)
	}
	posts := api.requests(http.MethodPost)
	if last := posts[len(posts)-1]; last.path != removePath || last.body != `{"database_identifier":"`+testRef+`-rr-eu-west-2-kqzvb"}` {
		t.Fatalf("remove request %+v", last)
	}
	api.set(list, ok("supabase/org_projects_1_replica_going_down.json"))
	st, err = s.Current(ctx)
	wantInProgress(t, "replica going down", st, err, "GOING_DOWN")
	if err := s.Apply(ctx, State{Replicas: 1}); err != nil || len(api.requests(http.MethodPost)) != len(posts) {
		t.Fatalf("repeated scale-in: %v, %d POSTs (was %d)", err, len(api.requests(http.MethodPost)), len(posts))
	}
	clk.Add(poll)
	api.set(list, ok("supabase/org_projects_1_replica.json"))
	if cur, err := s.Current(ctx); err != nil || cur != (State{Replicas: 1}) {
		t.Fatalf("after removal: current = %v, %v", cur, err)
	}
}

func TestSupabaseReadReplicaEdges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("failed replica is neither counted nor kept", func(t *testing.T) {
		t.Parallel()
		s, api, _ := newTestSupabase(t, SupabaseConfig{Resource: SupabaseReadReplicas, Region: "us-east-1"})
		api.set("GET "+projectPath, ok("supabase/project_active_healthy.json"))
		api.set("GET "+orgPath, ok("supabase/org_projects_1_replica_1_failed.json"))
		api.set("POST "+setupPath, reply{status: 201})
		if cur, err := s.Current(ctx); err != nil || cur != (State{Replicas: 1}) {
			t.Fatalf("current = %v, %v", cur, err)
		}
		if err := s.Apply(ctx, State{Replicas: 2}); err != nil {
			t.Fatal(err)
		}
		if p := api.requests(http.MethodPost); len(p) != 1 || p[0].body != `{"read_replica_region":"us-east-1"}` {
			t.Fatalf("setup requests %+v, want one in the configured region", p)
		}
	})
	t.Run("pages through the organization", func(t *testing.T) {
		t.Parallel()
		s, api, _ := newTestSupabase(t, SupabaseConfig{Resource: SupabaseReadReplicas})
		api.set("GET "+projectPath, ok("supabase/project_active_healthy.json"))
		api.set("GET "+orgPath+"?limit=100&offset=0", ok("supabase/org_projects_page1.json"))
		api.set("GET "+orgPath+"?limit=100&offset=1", ok("supabase/org_projects_page2.json"))
		if cur, err := s.Current(ctx); err != nil || cur != (State{Replicas: 1}) {
			t.Fatalf("current = %v, %v", cur, err)
		}
	})
	t.Run("set-up refused part way", func(t *testing.T) {
		t.Parallel()
		s, api, _ := newTestSupabase(t, SupabaseConfig{Resource: SupabaseReadReplicas})
		api.set("GET "+projectPath, ok("supabase/project_active_healthy.json"))
		api.set("GET "+orgPath, ok("supabase/org_projects_0_replicas.json"))
		api.set("POST "+setupPath, reply{status: 201}, reply{status: 500, file: "supabase/error_500_setup.json"})
		err := s.Apply(ctx, State{Replicas: 2})
		if err == nil || !strings.Contains(err.Error(), "set up read replica 2 of 2 in eu-west-2: POST") || !strings.Contains(err.Error(), "Failed to set up read replica") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("tier asked of read replicas", func(t *testing.T) {
		t.Parallel()
		s, _, _ := newTestSupabase(t, SupabaseConfig{Resource: SupabaseReadReplicas})
		if err := s.Apply(ctx, State{Tier: "ci_small"}); err == nil || !strings.Contains(err.Error(), "set by a replica count, got tier ci_small") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("project missing from its organization", func(t *testing.T) {
		t.Parallel()
		s, api, _ := newTestSupabase(t, SupabaseConfig{Resource: SupabaseReadReplicas})
		api.set("GET "+projectPath, ok("supabase/project_active_healthy.json"))
		api.set("GET "+orgPath, ok("supabase/org_projects_page1.json"), ok("supabase/empty_object.json"))
		_, err := s.Current(ctx)
		if err == nil || !strings.Contains(err.Error(), "is not listed in organization "+testOrg) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestSupabaseConfigValidate(t *testing.T) {
	t.Parallel()
	tok := config.Secret{Env: "SUPABASE_ACCESS_TOKEN"}
	tests := []struct {
		cfg  SupabaseConfig
		want string
	}{
		{SupabaseConfig{Resource: "compute", AccessToken: tok}, "a.project_ref: required"},
		{SupabaseConfig{ProjectRef: "ABC", Resource: "compute", AccessToken: tok}, `a.project_ref: "ABC" is not a project ref`},
		{SupabaseConfig{ProjectRef: testRef, AccessToken: tok}, "a.resource: required (compute or read_replicas)"},
		{SupabaseConfig{ProjectRef: testRef, Resource: "disk", AccessToken: tok}, `a.resource: "disk" is not compute or read_replicas`},
		{SupabaseConfig{ProjectRef: testRef, Resource: "compute"}, "a.access_token: required (file or env)"},
		{SupabaseConfig{ProjectRef: testRef, Resource: "compute", AccessToken: config.Secret{File: "f", Env: "e"}}, "a.access_token: set file or env, not both"},
		{SupabaseConfig{ProjectRef: testRef, Resource: "compute", AccessToken: tok, Region: "us-east-1"}, "a.region: only read_replicas use a region"},
		{SupabaseConfig{ProjectRef: testRef, Resource: "read_replicas", AccessToken: tok, Region: "Frankfurt"}, `a.region: "Frankfurt" is not a region`},
		{SupabaseConfig{ProjectRef: testRef, Resource: "compute", AccessToken: tok, APIURL: "http://api.supabase.com"}, "a.api_url: \"http://api.supabase.com\": plain http is only allowed to a loopback address"},
		{SupabaseConfig{ProjectRef: testRef, Resource: "compute", AccessToken: tok, APIURL: "https://u:p@api.supabase.com"}, "a.api_url: credentials in the URL are not allowed"},
		{SupabaseConfig{ProjectRef: testRef, Resource: "compute", AccessToken: tok, Timeout: -1}, "a.timeout: must not be negative"},
		{SupabaseConfig{ProjectRef: testRef, Resource: "compute", AccessToken: tok, MinReadInterval: -1}, "a.min_read_interval: must not be negative"},
	}
	for _, tc := range tests {
		var all []string
		for _, e := range tc.cfg.Validate("a") {
			all = append(all, e.Error())
		}
		if !strings.Contains(strings.Join(all, "\n"), tc.want) {
			t.Errorf("%+v: errors %q, want %q", tc.cfg, all, tc.want)
		}
	}
	for _, good := range []SupabaseConfig{
		{ProjectRef: testRef, Resource: "compute", AccessToken: tok},
		{ProjectRef: testRef, Resource: "read_replicas", AccessToken: tok, Region: "ap-southeast-2", APIURL: "http://127.0.0.1:8080"},
	} {
		if errs := good.Validate("a"); len(errs) != 0 {
			t.Errorf("%+v: %v", good, errs)
		}
	}
	if _, err := NewSupabase(SupabaseConfig{ProjectRef: testRef, Resource: "compute", AccessToken: config.Secret{File: "/nonexistent/token"}}, discard); err == nil || !strings.Contains(err.Error(), "access_token:") {
		t.Errorf("missing token file: %v", err)
	}
}

// The new types take part in the Config switch like the old ones.
func TestConfigValidateSupabaseAndKubernetes(t *testing.T) {
	t.Parallel()
	sb := &SupabaseConfig{ProjectRef: testRef, Resource: "compute", AccessToken: config.Secret{Env: "X"}}
	k8s := &KubernetesConfig{Kind: "Deployment", Name: "api"}
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{Type: "supabase"}, "a.supabase: required for type supabase"},
		{Config{Type: "kubernetes"}, "a.kubernetes: required for type kubernetes"},
		{Config{Type: "supabase", Supabase: &SupabaseConfig{}}, "a.supabase.project_ref: required"},
		{Config{Type: "kubernetes", Kubernetes: &KubernetesConfig{Kind: "Pod"}}, `a.kubernetes.kind: "Pod" is not Deployment or StatefulSet`},
		{Config{Type: "supabase", Supabase: sb, Kubernetes: k8s}, `a.kubernetes: set but type is "supabase"`},
		{Config{Type: "kubernetes", Kubernetes: k8s, Supabase: sb}, `a.supabase: set but type is "kubernetes"`},
		{Config{Type: "exec", Exec: &ExecConfig{CurrentCommand: []string{"x"}, ApplyCommand: []string{"y"}}, Supabase: sb}, `a.supabase: set but type is "exec"`},
	}
	for _, tc := range tests {
		var all []string
		for _, e := range tc.cfg.Validate("a") {
			all = append(all, e.Error())
		}
		if !strings.Contains(strings.Join(all, "\n"), tc.want) {
			t.Errorf("%+v: errors %q, want %q", tc.cfg, all, tc.want)
		}
	}
	for _, good := range []Config{{Type: "supabase", Supabase: sb}, {Type: "kubernetes", Kubernetes: k8s}} {
		if errs := good.Validate("a"); len(errs) != 0 {
			t.Errorf("%+v: %v", good, errs)
		}
	}
	a, err := New(Config{Type: "supabase", Supabase: &SupabaseConfig{ProjectRef: testRef, Resource: "compute", AccessToken: config.Secret{File: tokenFile(t, "x")}}}, discard)
	if _, isSB := a.(*Supabase); err != nil || !isSB {
		t.Fatalf("New(supabase) = %T, %v", a, err)
	}
	// Outside a pod and without kubeconfig the kubernetes actuator says so.
	if _, err := New(Config{Type: "kubernetes", Kubernetes: &KubernetesConfig{Kind: "Deployment", Name: "api", Kubeconfig: filepath.Join(t.TempDir(), "none")}}, discard); err == nil || !strings.Contains(err.Error(), "kubeconfig") {
		t.Fatalf("New(kubernetes) with a missing kubeconfig: %v", err)
	}
}
