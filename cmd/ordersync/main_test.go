package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/internal/testkit"
)

// TestHelpExitsZero: `--help` of the CLI and of every sub-command prints its usage and
// exits 0.
func TestHelpExitsZero(t *testing.T) {
	testkit.Long(t, "builds the CLI")
	bin := filepath.Join(t.TempDir(), "ordersync")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, cmd := range []string{"", "broker", "sink", "migrate", "topics"} {
		t.Run("ordersync "+cmd, func(t *testing.T) {
			args := strings.Fields(cmd + " --help")
			out, err := exec.Command(bin, args...).CombinedOutput()
			if err != nil {
				t.Errorf("%v\n%s", err, out)
			}
			if !strings.Contains(string(out), "usage:") && !strings.Contains(string(out), "Usage") {
				t.Errorf("no usage printed:\n%s", out)
			}
		})
	}
}
