//go:build unix

package stack_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/ordersync/ordersync/internal/testkit"
	"github.com/ordersync/ordersync/local/stack"
)

// TestLockHolder is the other process of TestLockTwoProcesses: it holds the directory
// named by ORDERSYNC_TEST_LOCK until its stdin closes.
func TestLockHolder(t *testing.T) {
	dir := os.Getenv("ORDERSYNC_TEST_LOCK")
	if dir == "" {
		t.Skip("the second process of TestLockTwoProcesses")
	}
	unlock, err := stack.Lock(dir)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	defer unlock()
	fmt.Println("locked")
	bufio.NewReader(os.Stdin).ReadString('\n') // until EOF
}

// A second stack on the same --data stops at once with one line naming the directory
// and the PID that holds it; once that process ends, the directory is free again.
func TestLockTwoProcesses(t *testing.T) {
	testkit.Long(t, "spawns a process")
	dir := t.TempDir()
	holder := exec.Command(os.Args[0], "-test.run=^TestLockHolder$", "-test.count=1")
	holder.Env = append(os.Environ(), "ORDERSYNC_TEST_LOCK="+dir)
	stdin, err := holder.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); holder.Wait() })
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); line != "locked\n" {
		t.Fatalf("holder said %q", line)
	}

	_, err = stack.Lock(dir)
	if !errors.Is(err, stack.ErrLocked) {
		t.Fatalf("second Lock: %v, want ErrLocked", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, dir) || !strings.Contains(msg, fmt.Sprintf("process %d", holder.Process.Pid)) || strings.Contains(msg, "\n") {
		t.Errorf("error %q does not name %s and pid %d on one line", msg, dir, holder.Process.Pid)
	}

	stdin.Close()
	if err := holder.Wait(); err != nil {
		t.Fatalf("holder: %v", err)
	}
	unlock, err := stack.Lock(dir)
	if err != nil {
		t.Fatalf("Lock after the holder ended: %v", err)
	}
	unlock()
}

// Within one process a second Lock of the same directory is refused too.
func TestLockSameProcess(t *testing.T) {
	dir := t.TempDir()
	unlock, err := stack.Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stack.Lock(dir); !errors.Is(err, stack.ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("process %d", os.Getpid())) {
		t.Errorf("second Lock: %v", err)
	}
	unlock()
	unlock2, err := stack.Lock(dir)
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	unlock2()
}
