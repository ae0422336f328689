//go:build linux

package actuator

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wedsync/scaling/core/config"
)

// The exec actuator's command dies with the autoscaler: SIGKILL the
// process that runs Apply (here a re-executed test binary) in the middle
// of a slow apply_command, and the command never finishes its work — so a
// replica that takes the action over cannot race a leftover call.
func TestExecCommandDiesWithItsParent(t *testing.T) {
	if os.Getenv("WEDSYNC_EXEC_PARENT") != "" {
		dir := os.Getenv("WEDSYNC_EXEC_PARENT")
		e, err := NewExec(ExecConfig{CurrentCommand: []string{"true"},
			ApplyCommand: []string{"sh", "-c", "echo $$ > " + filepath.Join(dir, "pid") + "; sleep 2; echo applied > " + filepath.Join(dir, "done")},
			Timeout:      config.Duration(time.Minute)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = e.Apply(context.Background(), State{Replicas: 3})
		return
	}
	t.Parallel()
	dir := t.TempDir()
	parent := exec.Command(os.Args[0], "-test.run=^TestExecCommandDiesWithItsParent$", "-test.count=1")
	parent.Env = append(os.Environ(), "WEDSYNC_EXEC_PARENT="+dir)
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(dir, "pid")
	deadline := time.Now().Add(20 * time.Second)
	for {
		if b, err := os.ReadFile(pidFile); err == nil && strings.TrimSpace(string(b)) != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("apply_command never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := parent.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = parent.Wait()
	time.Sleep(3 * time.Second) // longer than the command's own sleep
	if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
		t.Fatal("apply_command finished its work after the autoscaler was killed")
	}
}

// A timeout kills the command's whole process group, not only the shell.
func TestExecTimeoutKillsTheGroup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e, err := NewExec(ExecConfig{CurrentCommand: []string{"true"},
		ApplyCommand: []string{"sh", "-c", "(sleep 1; echo late > " + filepath.Join(dir, "done") + ") & wait"},
		Timeout:      config.Duration(200 * time.Millisecond)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Apply(context.Background(), State{Replicas: 1}); err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("apply = %v, want a timeout", err)
	}
	time.Sleep(1500 * time.Millisecond)
	if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
		t.Fatal("a grandchild of the timed-out command finished its work")
	}
	if got := e.CallTimeout(); got != 200*time.Millisecond+execWaitDelay {
		t.Fatalf("CallTimeout = %s", got)
	}
}
