package ordersync

import (
	"debug/elf"
	"errors"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/internal/testkit"
)

// TestMakeBuild runs SAM's makefile builder step, `make build-<LogicalId>
// ARTIFACTS_DIR=<dir>`, for every function in template.yaml and checks that it leaves a
// static linux/arm64 ELF named bootstrap, as the provided.al2023 arm64 runtime needs.
func TestMakeBuild(t *testing.T) {
	testkit.Long(t, "builds every function")
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
// resource specifications. The template must lint clean: no error, no warning, no
// informational finding. CI has cfn-lint, so there a missing cfn-lint fails the test.
func TestCFNLint(t *testing.T) {
	testkit.Long(t, "runs cfn-lint")
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
		t.Fatalf("cfn-lint template.yaml exits %d, want 0:\n%s", exit.ExitCode(), out)
	default:
		t.Fatalf("cfn-lint: %v", err)
	}
}

// TestFunctionsLinkNoAdmin: the Lambda functions import shared/kafka but never the
// topic administration (shared/kafka/admin, kadm), which only the CLI needs; it would
// make every bootstrap bigger and its cold start slower.
func TestFunctionsLinkNoAdmin(t *testing.T) {
	testkit.Long(t, "runs go list")
	out, err := exec.Command("go", "list", "-deps", "./functions/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/ordersync/ordersync/shared/kafka") {
		t.Fatal("the functions do not import shared/kafka: the check below proves nothing")
	}
	for _, bad := range []string{"github.com/ordersync/ordersync/shared/kafka/admin", "github.com/twmb/franz-go/pkg/kadm"} {
		if slices.Contains(deps, bad) {
			t.Errorf("a Lambda function links %s", bad)
		}
	}
}
