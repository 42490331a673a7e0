package testkit

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// runEnv marks every process a test run starts (and their children, which inherit it),
// so that Main can find the ones still running when the tests are over.
const runEnv = "ORDERSYNC_TEST_RUN"

var mainRunning atomic.Bool

// Main runs the tests of a package and then fails the run if they left behind a
// database they created (listing ordersync_% databases before and after) or a process
// they started; it removes the binaries Build made. Use it as
//
//	func TestMain(m *testing.M) { testkit.Main(m) }
func Main(m *testing.M) {
	mainRunning.Store(true)
	marker := randomHex(8)
	if err := os.Setenv(runEnv, marker); err != nil {
		fmt.Fprintf(os.Stderr, "testkit: %v\n", err)
		os.Exit(2)
	}
	code := m.Run()
	errs := errors.Join(leftoverProcesses(marker), leftoverDatabases(), removeBuilds())
	closeServer()
	if errs != nil {
		fmt.Fprintf(os.Stderr, "testkit: %v\nFAIL\n", errs)
		code = max(code, 1)
	}
	os.Exit(code)
}

func requireMain(t testing.TB, what string) {
	t.Helper()
	if !mainRunning.Load() {
		t.Fatalf("testkit.%s needs the package's TestMain to call testkit.Main, which cleans up after it", what)
	}
}

// leftoverProcesses waits up to 10 s for the processes that carry marker in their
// environment to end, then kills those still running and names them.
func leftoverProcesses(marker string) error {
	want := []byte(runEnv + "=" + marker + "\x00")
	var left []int
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		left = marked(want)
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(left) == 0 {
		return nil
	}
	var desc []string
	for _, pid := range left {
		cmd, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		if err != nil {
			cmd = []byte("(ended: " + err.Error() + ")")
		}
		desc = append(desc, fmt.Sprintf("%d %s", pid, bytes.ReplaceAll(bytes.TrimRight(cmd, "\x00"), []byte{0}, []byte{' '})))
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) { // ours: it carries this run's marker
			desc = append(desc, fmt.Sprintf("kill %d: %v", pid, err))
		}
	}
	return fmt.Errorf("tests left %d processes running (now killed): %q", len(left), desc)
}

// marked lists the processes other than this one whose environment holds want. It
// finds nothing where there is no /proc.
func marked(want []byte) []int {
	dirs, _ := os.ReadDir("/proc")
	var pids []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", d.Name(), "environ"))
		if err == nil && bytes.Contains(append([]byte{0}, env...), append([]byte{0}, want...)) {
			pids = append(pids, pid)
		}
	}
	return pids
}
