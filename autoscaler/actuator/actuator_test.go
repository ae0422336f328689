package actuator

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
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

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// fleetAPI answers like wedsync-demo-api's admin endpoint (docs/contracts.md):
// GET → {"replicas": ready, "desired": d}; PUT {"replicas": n} → 202.
type fleetAPI struct {
	mu       sync.Mutex
	replicas int
	bodies   []string
	auth     []string
	status   int // forced status for PUT, 0 = normal
}

func (f *fleetAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	switch r.Method {
	case http.MethodGet:
		json.NewEncoder(w).Encode(map[string]int{"replicas": f.replicas, "desired": f.replicas})
	case http.MethodPut:
		b, _ := io.ReadAll(r.Body)
		f.bodies = append(f.bodies, string(b))
		if f.status != 0 {
			w.WriteHeader(f.status)
			w.Write([]byte(`{"error":"replicas: must be between 1 and 20"}`))
			return
		}
		var req struct{ Replicas int }
		json.Unmarshal(b, &req)
		f.replicas = req.Replicas
		w.WriteHeader(http.StatusAccepted)
		json.NewEncoder(w).Encode(map[string]int{"replicas": f.replicas, "desired": f.replicas})
	}
}

func TestHTTPAgainstRecordedFleetAPI(t *testing.T) {
	t.Parallel()
	api := &fleetAPI{replicas: 2}
	srv := httptest.NewServer(api)
	defer srv.Close()
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte("tok\n"), 0o600)
	a, err := NewHTTP(HTTPConfig{URL: srv.URL + "/admin/replicas", BearerToken: config.Secret{File: tokenFile}}, discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cur, err := a.Current(ctx)
	if err != nil || cur != (State{Replicas: 2}) {
		t.Fatalf("current = %v, %v", cur, err)
	}
	if err := a.Apply(ctx, State{Replicas: 5}); err != nil {
		t.Fatal(err)
	}
	if cur, _ := a.Current(ctx); cur.Replicas != 5 {
		t.Fatalf("after apply: %v", cur)
	}
	if api.bodies[0] != `{"replicas": 5}` || api.auth[0] != "Bearer tok" {
		t.Fatalf("request body %q auth %q", api.bodies[0], api.auth[0])
	}
	api.status = http.StatusUnprocessableEntity
	err = a.Apply(ctx, State{Replicas: 50})
	if err == nil || !strings.Contains(err.Error(), "422 Unprocessable Entity") || !strings.Contains(err.Error(), "must be between 1 and 20") {
		t.Fatalf("error = %v, want status and body", err)
	}
}

func TestHTTPErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>")) }))
	defer garbage.Close()
	noField := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"replicas": 2.5}`)) }))
	defer noField.Close()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { time.Sleep(500 * time.Millisecond) }))
	defer slow.Close()
	tests := []struct {
		name string
		cfg  HTTPConfig
		want string
	}{
		{"refused", HTTPConfig{URL: "http://127.0.0.1:1/x?token=secret"}, "GET http://127.0.0.1:1/x?token=xxxxx: dial tcp"},
		{"not JSON", HTTPConfig{URL: garbage.URL}, "response is not a JSON object: <html>"},
		{"not an integer", HTTPConfig{URL: noField.URL}, `field "replicas" is not a non-negative integer`},
		{"timeout", HTTPConfig{URL: slow.URL, Timeout: config.Duration(50 * time.Millisecond)}, "Timeout"},
	}
	for _, tc := range tests {
		a, err := NewHTTP(tc.cfg, discard)
		if err != nil {
			t.Fatal(err)
		}
		_, err = a.Current(ctx)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: error leaks the URL's secret: %v", tc.name, err)
		}
	}
}

func TestExec(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	state := filepath.Join(t.TempDir(), "replicas")
	os.WriteFile(state, []byte("3\n"), 0o644)
	a, err := NewExec(ExecConfig{
		CurrentCommand: []string{"cat", state},
		ApplyCommand:   []string{"sh", "-c", `echo "$1" > "$2"`, "sh", "{{.Replicas}}", state},
	}, discard)
	if err != nil {
		t.Fatal(err)
	}
	if cur, err := a.Current(ctx); err != nil || cur.Replicas != 3 {
		t.Fatalf("current = %v, %v", cur, err)
	}
	if err := a.Apply(ctx, State{Replicas: 6}); err != nil {
		t.Fatal(err)
	}
	if cur, _ := a.Current(ctx); cur.Replicas != 6 {
		t.Fatalf("after apply: %v", cur)
	}
	tier, _ := NewExec(ExecConfig{CurrentCommand: []string{"echo", "ci_small"}, ApplyCommand: []string{"true"}}, discard)
	if cur, err := tier.Current(ctx); err != nil || cur.Tier != "ci_small" {
		t.Fatalf("tier = %v, %v", cur, err)
	}
	bad := []struct {
		name string
		cfg  ExecConfig
		want string
	}{
		{"fails", ExecConfig{CurrentCommand: []string{"sh", "-c", "echo no such deployment >&2; exit 3"}, ApplyCommand: []string{"true"}}, "exit status 3: no such deployment"},
		{"times out", ExecConfig{CurrentCommand: []string{"sleep", "5"}, ApplyCommand: []string{"true"}, Timeout: config.Duration(100 * time.Millisecond)}, "timed out after 100ms"},
		{"garbage", ExecConfig{CurrentCommand: []string{"echo", "two replicas"}, ApplyCommand: []string{"true"}}, "neither a replica count nor a tier name"},
		{"negative", ExecConfig{CurrentCommand: []string{"echo", "-2"}, ApplyCommand: []string{"true"}}, "negative replica count"},
		{"missing binary", ExecConfig{CurrentCommand: []string{"/nonexistent/kubectl"}, ApplyCommand: []string{"true"}}, "no such file"},
	}
	for _, tc := range bad {
		a, _ := NewExec(tc.cfg, discard)
		t0 := time.Now()
		_, err := a.Current(ctx)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
		if time.Since(t0) > 3*time.Second {
			t.Errorf("%s: took %s", tc.name, time.Since(t0))
		}
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{}, "a.type: required (http, exec, supabase or kubernetes)"},
		{Config{Type: "http"}, "a.http: required for type http"},
		{Config{Type: "exec", Exec: &ExecConfig{CurrentCommand: []string{"x"}, ApplyCommand: []string{"{{.Replicas"}}}, "a.exec.apply_command[0]:"},
		{Config{Type: "exec", Exec: &ExecConfig{CurrentCommand: []string{"x"}, ApplyCommand: []string{"y"}}, HTTP: &HTTPConfig{URL: "http://x"}}, `a.http: set but type is "exec"`},
		{Config{Type: "http", HTTP: &HTTPConfig{URL: "http://user:pw@x/"}}, "credentials in the URL are not allowed"},
		{Config{Type: "http", HTTP: &HTTPConfig{URL: "http://x/", ApplyMethod: "DELETE"}}, `a.http.apply_method: "DELETE" is not PUT, POST or PATCH`},
	}
	for _, tc := range tests {
		errs := tc.cfg.Validate("a")
		var all []string
		for _, e := range errs {
			all = append(all, e.Error())
		}
		if !strings.Contains(strings.Join(all, "\n"), tc.want) {
			t.Errorf("%+v: errors %q, want %q", tc.cfg, all, tc.want)
		}
	}
	if errs := (&Config{Type: "http", HTTP: &HTTPConfig{URL: "https://x/admin"}}).Validate("a"); len(errs) != 0 {
		t.Errorf("valid config: %v", errs)
	}
}

func TestStateJSON(t *testing.T) {
	t.Parallel()
	for s, want := range map[State]string{{Replicas: 4}: `{"replicas":4}`, {Tier: "ci_small"}: `{"tier":"ci_small"}`, {}: `{"replicas":0}`} {
		b, _ := json.Marshal(s)
		if string(b) != want {
			t.Errorf("%v → %s, want %s", s, b, want)
		}
		var back State
		json.Unmarshal(b, &back)
		if back != s {
			t.Errorf("round trip %v → %v", s, back)
		}
	}
}
