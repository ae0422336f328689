//go:build !linux

package actuator

import "os/exec"

// detachable: only Linux has Pdeathsig; elsewhere a timeout kills the
// direct child (exec.CommandContext's default).
func detachable(*exec.Cmd) {}
