package ordersync

import (
	"debug/elf"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/internal/testkit"
)

// TestMakeBuild runs SAM's makefile builder step, `make build-<LogicalId>
// ARTIFACTS_DIR=<dir>`, for every function in template.yaml and checks that it leaves a
// static linux/arm64 ELF named bootstrap, as the provided.al2023 arm64 runtime needs.
func TestMakeBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every function; skipped with -short")
	}
	for _, id := range functions(t, loadTemplate(t)) {
		t.Run(id, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command("make", "--no-print-directory", "build-"+id, "ARTIFACTS_DIR="+dir)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("make build-%s: %v\n%s", id, err, out)
			}
			f, err := elf.Open(filepath.Join(dir, "bootstrap"))
			if err != nil {
				t.Fatalf("bootstrap: %v", err)
			}
			defer f.Close()
			if f.Machine != elf.EM_AARCH64 || f.Class != elf.ELFCLASS64 {
				t.Errorf("bootstrap is %v %v, want EM_AARCH64 ELFCLASS64", f.Machine, f.Class)
			}
			if f.Type != elf.ET_EXEC {
				t.Errorf("bootstrap type %v, want ET_EXEC", f.Type)
			}
			for _, p := range f.Progs {
				if p.Type == elf.PT_INTERP {
					t.Error("bootstrap is dynamically linked; want a static binary (CGO_ENABLED=0)")
				}
			}
		})
	}
}

// TestCFNLint runs cfn-lint, which applies the SAM transform and CloudFormation's own
// resource specifications, when it is installed. Warnings are reported, errors fail.
func TestCFNLint(t *testing.T) {
	if testing.Short() {
		t.Skip("runs cfn-lint; skipped with -short")
	}
	path, err := exec.LookPath("cfn-lint")
	if err != nil {
		testkit.Missing(t, "cfn-lint is not installed (pip install cfn-lint)")
	}
	out, err := exec.Command(path, "--format", "parseable", "template.yaml").CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		// cfn-lint's exit code is a bit set: 2 errors, 4 warnings, 8 informational.
		if exit.ExitCode()&2 != 0 || exit.ExitCode()&^(2|4|8) != 0 {
			t.Fatalf("cfn-lint template.yaml: %v\n%s", err, out)
		}
		if s := strings.TrimSpace(string(out)); s != "" && testing.Verbose() {
			t.Logf("cfn-lint warnings:\n%s", s)
		}
	default:
		t.Fatalf("cfn-lint: %v", err)
	}
}
