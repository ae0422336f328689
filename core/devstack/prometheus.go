package devstack

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// ServerOptions describes a Prometheus or Alertmanager to start.
type ServerOptions struct {
	// Config is the content of the main configuration file.
	Config []byte
	// Files are written into the server's folder before start, by relative
	// path (rule files, credentials files, …); Config may refer to them by
	// the absolute path that Server.Path gives.
	Files map[string][]byte
	// Dir, when set, is used instead of a fresh temporary folder, so that a
	// caller can write files whose contents depend on the folder first.
	Dir string
	// Args are extra command-line flags.
	Args []string
	// Port, when set, is used instead of a free one, for stacks whose
	// members must know each other's addresses before they start.
	Port int
}

// Server is a Prometheus or an Alertmanager on a loopback port.
type Server struct {
	Port int
	Dir  string
	proc *Process
	own  bool
}

// URL is the server's base URL.
func (s *Server) URL() string { return "http://" + addr(s.Port) }

// Path is the absolute path of a file in the server's folder.
func (s *Server) Path(rel string) string { return filepath.Join(s.Dir, rel) }

// Start (re)starts the server and waits until /-/ready answers.
func (s *Server) Start(ctx context.Context) error {
	if err := s.proc.Start(); err != nil {
		return err
	}
	return waitReady(ctx, s.proc, 30*time.Second, func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+"/-/ready", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/-/ready: %s", resp.Status)
		}
		return nil
	})
}

// Stop ends the server gracefully.
func (s *Server) Stop() error { return s.proc.Stop(syscall.SIGTERM, 20*time.Second) }

// Reload asks the server to re-read its configuration (SIGHUP).
func (s *Server) Reload() error {
	s.proc.mu.Lock()
	defer s.proc.mu.Unlock()
	if s.proc.cmd == nil {
		return fmt.Errorf("%s: not running", s.proc.Name)
	}
	return s.proc.cmd.Process.Signal(syscall.SIGHUP)
}

// LogTail returns the end of the server's log.
func (s *Server) LogTail(n int) string { return s.proc.LogTail(n) }

// Close stops the server and removes its folder if devstack made it.
func (s *Server) Close() error {
	s.proc.Stop(syscall.SIGKILL, 10*time.Second)
	if s.own {
		return os.RemoveAll(s.Dir)
	}
	return nil
}

// StartPrometheus starts Prometheus with the given configuration.
func StartPrometheus(ctx context.Context, opts ServerOptions) (*Server, error) {
	bin, err := LookPath([]string{"prometheus"})
	if err != nil {
		return nil, err
	}
	return startServer(ctx, "prometheus", bin, opts, func(dir string, port int) []string {
		return []string{
			"--config.file=" + filepath.Join(dir, "prometheus.yml"),
			"--storage.tsdb.path=" + filepath.Join(dir, "data"),
			"--web.listen-address=" + addr(port),
			"--web.enable-lifecycle",
			"--log.level=warn",
		}
	}, "prometheus.yml")
}

// StartAlertmanager starts an Alertmanager with clustering off: two of them
// are then two independent deliverers of every notification, which is what
// the idempotency tests want.
func StartAlertmanager(ctx context.Context, opts ServerOptions) (*Server, error) {
	// Debian names the binary prometheus-alertmanager.
	bin, err := LookPath([]string{"alertmanager", "prometheus-alertmanager"})
	if err != nil {
		return nil, err
	}
	return startServer(ctx, "alertmanager", bin, opts, func(dir string, port int) []string {
		return []string{
			"--config.file=" + filepath.Join(dir, "alertmanager.yml"),
			"--storage.path=" + filepath.Join(dir, "data"),
			"--web.listen-address=" + addr(port),
			"--cluster.listen-address=",
			"--log.level=warn",
		}
	}, "alertmanager.yml")
}

func startServer(ctx context.Context, name, bin string, opts ServerOptions, args func(dir string, port int) []string, configName string) (*Server, error) {
	s := &Server{Dir: opts.Dir}
	if s.Dir == "" {
		dir, err := TempDir("wedsync-" + name + "-")
		if err != nil {
			return nil, fmt.Errorf("%s folder: %w", name, err)
		}
		s.Dir, s.own = dir, true
	}
	files := map[string][]byte{configName: opts.Config}
	for k, v := range opts.Files {
		files[k] = v
	}
	for rel, content := range files {
		p := filepath.Join(s.Dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if err := os.WriteFile(p, content, 0o644); err != nil {
			return nil, fmt.Errorf("%s: write %s: %w", name, rel, err)
		}
	}
	port := opts.Port
	if port == 0 {
		var err error
		if port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	s.Port = port
	s.proc = &Process{Name: name, Path: bin, Args: append(args(s.Dir, port), opts.Args...), Dir: s.Dir}
	if err := s.Start(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}
