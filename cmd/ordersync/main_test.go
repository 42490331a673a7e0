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

// TestUnexpectedArguments: a word that is no sub-command, or an argument after a
// command's flags, is refused before anything starts.
func TestUnexpectedArguments(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"brokr"}, `unknown command "brokr" (want broker, sink, migrate or topics)`},
		{[]string{"--partitions", "2", "extra"}, `ordersync local: unexpected argument "extra"`},
		{[]string{"broker", "extra"}, `broker: unexpected argument "extra"`},
		{[]string{"sink", "--data", "x", "extra"}, `sink: unexpected argument "extra"`},
		{[]string{"migrate", "extra"}, `migrate: unexpected argument "extra"`},
		{[]string{"topics", "extra"}, `topics: unexpected argument "extra"`},
	} {
		if err := run(tc.args); err == nil || err.Error() != tc.want {
			t.Errorf("run(%q) = %v, want %s", tc.args, err, tc.want)
		}
	}
}
