package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// logSink collects the JSON log lines of run and reports the listening address.
type logSink struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	addrs chan string
}

func newLogSink() *logSink { return &logSink{addrs: make(chan string, 1)} }

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Write(p)
	// slog writes one whole record per Write.
	var rec struct {
		Msg     string `json:"msg"`
		Address string `json:"address"`
	}
	if json.Unmarshal(p, &rec) == nil && rec.Msg == "listening" {
		select {
		case s.addrs <- rec.Address:
		default:
		}
	}
	return len(p), nil
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func TestRunServesAndStops(t *testing.T) {
	t.Parallel()
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("  t0ken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := newLogSink()
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{
			"--web.listen-address=127.0.0.1:0", "--replicas=3", "--service-time=5ms",
			"--provision-delay=0s", "--admin.token-file=" + tokenFile,
		}, logs)
	}()

	var addr string
	select {
	case addr = <-logs.addrs:
	case err := <-errc:
		t.Fatalf("run returned early: %v\n%s", err, logs)
	case <-time.After(5 * time.Second):
		t.Fatalf("no listening line logged:\n%s", logs)
	}
	if !strings.HasPrefix(addr, "127.0.0.1:") || strings.HasSuffix(addr, ":0") {
		t.Fatalf("logged address %q, want the bound 127.0.0.1 port", addr)
	}
	base := "http://" + addr

	tests := []struct {
		method, path, token, body string
		wantCode                  int
		wantBody                  string
	}{
		{"GET", "/healthz", "", "", 200, `"status":"ok"`},
		{"GET", "/readyz", "", "", 200, `"replicas":3`},
		{"GET", "/api/weddings", "", "", 200, `"path":"/api/weddings"`},
		{"GET", "/admin/replicas", "", "", 401, `"error":"missing or invalid bearer token"`},
		{"PUT", "/admin/replicas", "t0ken", `{"replicas":4}`, 202, `{"replicas":4,"desired":4}`},
		{"GET", "/metrics", "", "", 200, "wedsync_demo_replicas 4"},
	}
	for _, tc := range tests {
		req, _ := http.NewRequest(tc.method, base+tc.path, strings.NewReader(tc.body))
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.wantCode || !strings.Contains(string(body), tc.wantBody) {
			t.Errorf("%s %s: %d %s, want %d containing %s", tc.method, tc.path, resp.StatusCode, body, tc.wantCode, tc.wantBody)
		}
	}

	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("run after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not stop after cancel")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("still serving after run returned")
	}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("log line is not JSON: %s", line)
		}
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "absent")
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, []byte(" \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"zero replicas", []string{"--replicas=0"}, "--replicas: must be between 1 and --max-replicas (20), got 0"},
		{"replicas above max", []string{"--replicas=5", "--max-replicas=4"}, "--replicas: must be between 1 and --max-replicas (4), got 5"},
		{"max replicas", []string{"--max-replicas=0"}, "--max-replicas: must be >= 1, got 0"},
		{"slots", []string{"--slots-per-replica=0"}, "--slots-per-replica: must be >= 1, got 0"},
		{"service time", []string{"--service-time=0s"}, "--service-time: must be > 0, got 0s"},
		{"jitter", []string{"--service-time=10ms", "--service-time-jitter=10ms"}, "--service-time-jitter: must be >= 0 and < --service-time (10ms), got 10ms"},
		{"provision delay", []string{"--provision-delay=-1s"}, "--provision-delay: must be >= 0, got -1s"},
		{"max queue", []string{"--max-queue=-1"}, "--max-queue: must be >= 0, got -1"},
		{"log level", []string{"--log.level=loud"}, `--log.level: "loud" is not debug, info, warn or error`},
		{"log format", []string{"--log.format=xml"}, `--log.format: "xml" is not json or logfmt`},
		{"listen address", []string{"--web.listen-address=nope"}, "--web.listen-address: address nope: missing port in address"},
		{"not a number", []string{"--replicas=two"}, `invalid value "two" for flag -replicas`},
		{"unknown flag", []string{"--replica=2"}, "flag provided but not defined: -replica"},
		{"positional argument", []string{"serve"}, `unexpected argument "serve"`},
		{"missing token file", []string{"--admin.token-file=" + missing}, "--admin.token-file: open " + missing},
		{"empty token file", []string{"--admin.token-file=" + empty}, "--admin.token-file: " + empty + " is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			args := append([]string{"--web.listen-address=127.0.0.1:0"}, tc.args...)
			err := run(ctx, args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("run(%v) = %v, want an error containing %q", tc.args, err, tc.wantErr)
			}
		})
	}
}

func TestRunHelp(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := run(context.Background(), []string{"-h"}, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("run -h = %v, want flag.ErrHelp", err)
	}
	for _, name := range []string{"web.listen-address", "replicas", "max-replicas", "slots-per-replica", "service-time",
		"provision-delay", "max-queue", "admin.token-file", "log.level", "log.format"} {
		if !strings.Contains(out.String(), "-"+name) {
			t.Errorf("usage lacks -%s", name)
		}
	}
}
