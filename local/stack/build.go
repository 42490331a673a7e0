package stack

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// buildProgressEvery is how often a build that is still running says so.
const buildProgressEvery = 5 * time.Second

// build compiles every function's bootstrap for this machine, in parallel. It logs the
// go build commands, then, only while compiling goes on (a first build, or after a
// change), how many packages are compiled so far; a cached build just says it is done.
func build(ctx context.Context, dir string, fns []*function, log *slog.Logger) error {
	start := time.Now()
	var compiled atomic.Int64
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(buildProgressEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				log.Info(fmt.Sprintf("still building: %d packages compiled, %s so far", compiled.Load(), time.Since(start).Round(time.Second)))
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make([]error, len(fns))
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = buildOne(ctx, dir, fn, log, &compiled)
		}()
	}
	wg.Wait()
	close(stop)
	if err := errors.Join(errs...); err != nil {
		return err
	}
	names := make([]string, 0, len(fns))
	for _, fn := range fns {
		names = append(names, fn.name)
	}
	log.Info(fmt.Sprintf("built %s in %s", strings.Join(names, ", "), time.Since(start).Round(time.Millisecond)))
	return nil
}

// buildOne runs go build -v for one function, counting the packages it compiles (-v
// names each as it is compiled, and none that come from the build cache).
func buildOne(ctx context.Context, dir string, fn *function, log *slog.Logger, compiled *atomic.Int64) error {
	args := []string{"build", "-v", "-tags", strings.Join(fn.tags, ","), "-o", fn.bin, "./" + strings.TrimPrefix(fn.pkg, "./")}
	log.Info("go " + strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var other bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			if isPackagePath(line) {
				compiled.Add(1)
				log.Debug("compiled " + line)
				continue
			}
			other.WriteString(line + "\n")
		}
		io.Copy(io.Discard, pr) // a line too long for the scanner: keep the pipe flowing
	}()
	err := cmd.Run()
	pw.Close()
	<-done
	if err != nil {
		return fmt.Errorf("build %s (./%s): %w\n%s", fn.name, fn.pkg, err, other.Bytes())
	}
	return nil
}

// isPackagePath reports whether a line of go build -v is an import path, not a message.
func isPackagePath(line string) bool {
	return line != "" && !strings.ContainsAny(line, " \t:#")
}
