//go:build linux

package actuator

import (
	"os/exec"
	"syscall"
)

// detachable makes a command die with the autoscaler: in its own process
// group (so a timeout kills the whole group, not only the direct child),
// and killed by the kernel when the autoscaler dies (Pdeathsig) — an
// action orphaned by a crash must not keep running while a restarted or
// another replica applies it again.
func detachable(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		// The negative pid is the group: the child and what it started.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
