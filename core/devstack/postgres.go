package devstack

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresOptions says how to run a throwaway PostgreSQL.
type PostgresOptions struct {
	// Durable keeps fsync and synchronous commit on. Tests turn them off for
	// speed; benchmarks and the demo keep them on so figures mean something.
	Durable bool
	// MaxConnections is passed to the server (default 100).
	MaxConnections int
}

// Postgres is a PostgreSQL server in its own folder on a loopback port.
type Postgres struct {
	Port    int
	Dir     string
	proc    *Process
	binDir  string
	cred    *syscall.Credential
	dataDir string
}

// StartPostgres runs initdb and starts the server. PostgreSQL refuses to run
// as root, so under root (CI, `make`) it runs as the `postgres` user that
// Debian's package creates, in a folder that user owns.
func StartPostgres(ctx context.Context, opts PostgresOptions) (*Postgres, error) {
	binDir, err := postgresBinDir()
	if err != nil {
		return nil, err
	}
	dir, err := TempDir("wedsync-pg-")
	if err != nil {
		return nil, fmt.Errorf("postgres folder: %w", err)
	}
	p := &Postgres{Dir: dir, binDir: binDir, dataDir: filepath.Join(dir, "data")}
	if err := p.prepare(ctx); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	p.Port = port
	maxConn := opts.MaxConnections
	if maxConn == 0 {
		maxConn = 100
	}
	args := []string{
		"-D", p.dataDir,
		"-p", strconv.Itoa(port),
		"-k", dir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "max_connections=" + strconv.Itoa(maxConn),
		"-c", "shared_buffers=64MB",
		"-c", "log_min_messages=warning",
	}
	if !opts.Durable {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	p.proc = &Process{Name: "postgres", Path: filepath.Join(binDir, "postgres"), Args: args, Dir: dir, Cred: p.cred}
	if err := p.Start(ctx); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

func (p *Postgres) prepare(ctx context.Context) error {
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("running as root needs the postgres user (apt-get install postgresql): %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chmod(p.Dir, 0o755); err != nil {
			return fmt.Errorf("postgres folder: %w", err)
		}
		if err := os.Chown(p.Dir, uid, gid); err != nil {
			return fmt.Errorf("postgres folder: %w", err)
		}
	}
	cmd := exec.CommandContext(ctx, filepath.Join(p.binDir, "initdb"),
		"-D", p.dataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync")
	cmd.Dir = p.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred, Pdeathsig: syscall.SIGKILL}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	return nil
}

// Start (re)starts the server on its port and waits until it accepts connections.
func (p *Postgres) Start(ctx context.Context) error {
	if err := p.proc.Start(); err != nil {
		return err
	}
	return waitReady(ctx, p.proc, 30*time.Second, func(ctx context.Context) error {
		c, err := pgx.Connect(ctx, p.DSN("postgres"))
		if err != nil {
			return err
		}
		return c.Close(ctx)
	})
}

// Stop shuts the server down (fast shutdown: clients are disconnected).
func (p *Postgres) Stop() error { return p.proc.Stop(syscall.SIGINT, 20*time.Second) }

// Close stops the server and removes its folder.
func (p *Postgres) Close() error {
	if p.proc != nil {
		p.proc.Stop(syscall.SIGINT, 20*time.Second)
	}
	return os.RemoveAll(p.Dir)
}

// DSN is the connection string for database db.
func (p *Postgres) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.Port, db)
}

// CreateDatabase creates an empty database and returns its DSN, so that
// tests sharing one server never see each other's rows.
func (p *Postgres) CreateDatabase(ctx context.Context, name string) (string, error) {
	c, err := pgx.Connect(ctx, p.DSN("postgres"))
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return p.DSN(name), nil
}

// BinDir is where initdb, postgres and pgbench were found.
func (p *Postgres) BinDir() string { return p.binDir }

// Cred is the user the server runs as (nil when not root); tools run against
// the server's folder need it too.
func (p *Postgres) Cred() *syscall.Credential { return p.cred }

func postgresBinDir() (string, error) {
	if path, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(path); err == nil {
			path = real
		}
		dir := filepath.Dir(path)
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) > pgVersion(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("PostgreSQL server binaries (initdb, postgres) not found on PATH or in /usr/lib/postgresql/*/bin: run `make deps`")
}

func pgVersion(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}
