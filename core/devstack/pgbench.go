package devstack

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// PgbenchInsertTPS measures the server's single-row INSERT-and-COMMIT rate
// with pgbench: the yardstick our benchmarks divide by, so that their
// figures are ratios to what this very server can do in the same run.
func (p *Postgres) PgbenchInsertTPS(ctx context.Context, db string, clients int, d time.Duration) (float64, error) {
	bin := filepath.Join(p.binDir, "pgbench")
	if _, err := os.Stat(bin); err != nil {
		if bin, err = exec.LookPath("pgbench"); err != nil {
			return 0, fmt.Errorf("pgbench not found: run `make deps`")
		}
	}
	dir, err := TempDir("wedsync-pgbench-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "insert.sql")
	if err := os.WriteFile(script, []byte("INSERT INTO pgbench_insert_commit (client, at) VALUES (:client_id, now());\n"), 0o644); err != nil {
		return 0, err
	}
	psql := exec.CommandContext(ctx, filepath.Join(p.binDir, "psql"), "-X", "-q", "-h", "127.0.0.1", "-p", strconv.Itoa(p.Port), "-U", "postgres", "-d", db,
		"-c", "CREATE TABLE IF NOT EXISTS pgbench_insert_commit (id bigserial PRIMARY KEY, client int, at timestamptz)")
	if _, err := os.Stat(psql.Path); err != nil {
		psql.Path, _ = exec.LookPath("psql")
	}
	if out, err := psql.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("create pgbench table: %w\n%s", err, out)
	}
	cmd := exec.CommandContext(ctx, bin, "-n", "-h", "127.0.0.1", "-p", strconv.Itoa(p.Port), "-U", "postgres",
		"-c", strconv.Itoa(clients), "-j", strconv.Itoa(min(clients, 2)), "-T", strconv.Itoa(int(d.Seconds())), "-f", script, db)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("pgbench: %w\n%s", err, out)
	}
	m := regexp.MustCompile(`tps = ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("pgbench printed no tps:\n%s", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}
