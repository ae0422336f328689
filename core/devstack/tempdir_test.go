package devstack

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// A folder whose owner died is swept by the next TempDir; a live owner's
// folder is kept.
func TestTempDirSweepsDeadOwners(t *testing.T) {
	t.Parallel()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	orphan, err := os.MkdirTemp("", "wedsync-orphan-")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(orphan, ownerFile), []byte(strconv.Itoa(dead.Process.Pid)), 0o644)
	mine, err := TempDir("wedsync-live-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(mine)
	if _, err := os.Stat(orphan); !os.IsNotExist(err) {
		os.RemoveAll(orphan)
		t.Fatalf("orphan folder of dead pid %d not swept", dead.Process.Pid)
	}
	other, err := TempDir("wedsync-other-") // sweeps again
	if err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(other)
	if _, err := os.Stat(mine); err != nil {
		t.Fatalf("live folder swept: %v", err)
	}
}
