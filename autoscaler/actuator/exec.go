package actuator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/wedsync/scaling/core/config"
)

// ExecConfig drives a service through commands: current_command prints the
// state (an integer replica count or a tier name), apply_command sets it.
// Arguments are Go templates over the target State ({{.Replicas}},
// {{.Tier}}); no shell is involved unless the command names one.
type ExecConfig struct {
	CurrentCommand []string        `yaml:"current_command"`
	ApplyCommand   []string        `yaml:"apply_command"`
	Timeout        config.Duration `yaml:"timeout,omitempty"` // default: 30s
}

// Validate returns every problem, each prefixed with path.
func (c *ExecConfig) Validate(path string) []error {
	var errs []error
	if len(c.CurrentCommand) == 0 {
		errs = append(errs, fmt.Errorf("%s.current_command: required", path))
	}
	if len(c.ApplyCommand) == 0 {
		errs = append(errs, fmt.Errorf("%s.apply_command: required", path))
	}
	for i, a := range c.ApplyCommand {
		if _, err := template.New("arg").Option("missingkey=error").Parse(a); err != nil {
			errs = append(errs, fmt.Errorf("%s.apply_command[%d]: %w", path, i, err))
		}
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("%s.timeout: must not be negative", path))
	}
	return errs
}

// execWaitDelay is how long a killed command's output is waited for.
const execWaitDelay = time.Second

// Exec is the exec actuator.
type Exec struct {
	cfg    ExecConfig
	args   []*template.Template
	logger *slog.Logger
}

var _ Actuator = (*Exec)(nil)

// NewExec builds an exec actuator.
func NewExec(c ExecConfig, logger *slog.Logger) (*Exec, error) {
	if c.Timeout == 0 {
		c.Timeout = config.Duration(30 * time.Second)
	}
	e := &Exec{cfg: c, logger: logger}
	for i, a := range c.ApplyCommand {
		t, err := template.New("arg").Option("missingkey=error").Parse(a)
		if err != nil {
			return nil, fmt.Errorf("apply_command[%d]: %w", i, err)
		}
		e.args = append(e.args, t)
	}
	return e, nil
}

// Current runs current_command and parses its output.
func (e *Exec) Current(ctx context.Context) (State, error) {
	out, err := e.run(ctx, e.cfg.CurrentCommand)
	if err != nil {
		return State{}, err
	}
	v := strings.TrimSpace(out)
	if v == "" {
		return State{}, fmt.Errorf("%s: printed nothing", e.cfg.CurrentCommand[0])
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return State{}, fmt.Errorf("%s: printed a negative replica count %d", e.cfg.CurrentCommand[0], n)
		}
		return State{Replicas: n}, nil
	}
	if strings.ContainsAny(v, " \t\n") {
		return State{}, fmt.Errorf("%s: output %q is neither a replica count nor a tier name", e.cfg.CurrentCommand[0], snippet([]byte(v)))
	}
	return State{Tier: v}, nil
}

// CallTimeout is the longest one command may run (its timeout, plus the
// wait for its output after it is killed).
func (e *Exec) CallTimeout() time.Duration { return e.cfg.Timeout.D() + execWaitDelay }

// Apply runs apply_command with the target rendered into its arguments.
func (e *Exec) Apply(ctx context.Context, target State) error {
	argv := make([]string, len(e.args))
	for i, t := range e.args {
		var b strings.Builder
		if err := t.Execute(&b, target); err != nil {
			return fmt.Errorf("apply_command[%d]: %w", i, err)
		}
		argv[i] = b.String()
	}
	_, err := e.run(ctx, argv)
	return err
}

func (e *Exec) run(ctx context.Context, argv []string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout.D())
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	detachable(cmd)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = execWaitDelay
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return "", fmt.Errorf("%s: timed out after %s", argv[0], e.cfg.Timeout)
	}
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("%s: exit status %d: %s", argv[0], ee.ExitCode(), snippet(stderr.Bytes()))
		}
		return "", fmt.Errorf("%s: %w", argv[0], err)
	}
	return stdout.String(), nil
}
