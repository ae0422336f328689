package devstack

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ownerFile names the process that owns a throwaway folder.
const ownerFile = ".wedsync-owner-pid"

// TempDir makes a throwaway folder named prefix* owned by this process.
// It first removes folders of the same family whose owner has died: a
// process killed with SIGKILL takes its servers with it (parent-death
// signal) but cannot remove their folders.
func TempDir(prefix string) (string, error) {
	sweep()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", fmt.Errorf("make folder: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("make folder: %w", err)
	}
	return dir, nil
}

func sweep() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "wedsync-*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, ownerFile))
		if err != nil {
			continue // not ours, or being created
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || alive(pid) {
			continue
		}
		os.RemoveAll(d)
	}
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}
