package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ordersync/ordersync/local/runtimeapi"
)

// A session is a minimal Lambda Runtime API (and the Extensions API, which
// lambda.WithEnableSIGTERM registers with during init) for one process start. It
// records when the process first asks for an invocation; it then either holds that
// request (an init measurement) or hands the process one event and records when its
// answer arrives (a first-invoke measurement).
//
// Each start gets a session of its own, on a port of its own, closed with the process:
// a request the previous process sent just before it was killed (its second
// /invocation/next, right after its answer) can then neither take the next process's
// event nor pass for its first /next.
type session struct {
	srv   *http.Server
	addr  string
	event []byte // nil: hold /next

	mu    sync.Mutex
	given bool // the event was handed out

	next   chan time.Time // the first GET /invocation/next
	answer chan answer    // the first /response or /error
}

// answer is a process's reply to its first invocation.
type answer struct {
	at   time.Time
	body []byte
	err  bool // it posted to /error
}

func newSession(event []byte) (*session, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &session{addr: ln.Addr().String(), event: event, next: make(chan time.Time, 1), answer: make(chan answer, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", s.serveNext)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/{kind}", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		select {
		case s.answer <- answer{at: time.Now(), body: body, err: r.PathValue("kind") == "error"}:
		default:
		}
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("POST /2020-01-01/extension/register", func(w http.ResponseWriter, r *http.Request) {
		// As Lambda answers: 200 with the extension's id.
		w.Header().Set("Lambda-Extension-Identifier", "bench-extension")
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"functionName":"bench","functionVersion":"$LATEST","handler":"bootstrap"}`))
	})
	mux.HandleFunc("GET /2020-01-01/extension/event/next", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // no lifecycle events were asked for
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) })
	s.srv = &http.Server{Handler: mux}
	go s.srv.Serve(ln)
	return s, nil
}

func (s *session) serveNext(w http.ResponseWriter, r *http.Request) {
	select {
	case s.next <- time.Now():
	default:
	}
	s.mu.Lock()
	give := s.event != nil && !s.given
	s.given = s.given || give
	s.mu.Unlock()
	if !give {
		<-r.Context().Done() // hold the request: the process is killed next
		return
	}
	h := w.Header()
	h.Set("Lambda-Runtime-Aws-Request-Id", "bench-request")
	h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(30*time.Second).UnixMilli(), 10))
	h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:111122223333:function:bench")
	h.Set("Lambda-Runtime-Trace-Id", "Root=1-67406b78-3f6e1c2a9b8d7e6f5a4b3c2d;Parent=53995c3f42cd8ad8;Sampled=1")
	h.Set("Content-Type", "application/json")
	w.Write(s.event)
}

// start is what one process start measured.
type start struct {
	init  time.Duration // process start → first GET /invocation/next
	first time.Duration // process start → the answer to the first invocation (0: none asked)
	body  []byte        // that answer

	// CPU time of all the process's threads until then (0 where /proc has none): less
	// sensitive than the wall clock to the other work of a shared machine.
	initCPU, firstCPU time.Duration
	// Page faults of the process until then: a fault enters the kernel, which on some
	// virtual machines costs microseconds (see faults).
	initFaults, firstFaults int64
}

// coldStart starts bin once under the runtime API. Without an event it returns at the
// first GET /runtime/invocation/next: all of init (package init, config, client
// construction, any extension registration) and nothing of an invocation. With one, it
// hands the process event and also returns the time to its answer.
func coldStart(ctx context.Context, bin string, env []string, event []byte) (start, error) {
	sess, err := newSession(event)
	if err != nil {
		return start{}, err
	}
	defer sess.srv.Close()

	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(lambdaEnv(sess.addr), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return start{}, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Kill()
		<-exited
	}()
	timeout := time.After(10 * time.Second)
	var s start
	select {
	case t := <-sess.next:
		s.init, s.initCPU, s.initFaults = t.Sub(began), cpuTime(cmd.Process.Pid), faults(cmd.Process.Pid)
	case err := <-exited:
		return start{}, fmt.Errorf("%s exited before asking for an invocation: %v\n%s", bin, err, stderr.String())
	case <-timeout:
		return start{}, fmt.Errorf("%s did not ask for an invocation within 10s\n%s", bin, dump(cmd, exited, &stderr))
	}
	if event == nil {
		return s, nil
	}
	select {
	case a := <-sess.answer:
		if a.err {
			return start{}, fmt.Errorf("%s answered its first invocation with an error: %s\n%s", bin, a.body, stopped(cmd, exited, &stderr))
		}
		s.first, s.body, s.firstCPU, s.firstFaults = a.at.Sub(began), a.body, cpuTime(cmd.Process.Pid), faults(cmd.Process.Pid)
		return s, nil
	case err := <-exited:
		return start{}, fmt.Errorf("%s exited during its first invocation: %v\n%s", bin, err, stderr.String())
	case <-timeout:
		return start{}, fmt.Errorf("%s did not answer its first invocation within 10s\n%s", bin, dump(cmd, exited, &stderr))
	}
}

// dump asks a process that hangs for its goroutines (a Go program prints them on
// SIGQUIT and exits), and returns its stderr, dump included, once it has exited.
func dump(cmd *exec.Cmd, exited chan error, stderr *bytes.Buffer) string {
	cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case err := <-exited:
		exited <- err
	case <-time.After(2 * time.Second):
	}
	return stopped(cmd, exited, stderr)
}

// stopped kills the process if it still runs and returns its stderr once it has exited:
// until then the process may still be writing it.
func stopped(cmd *exec.Cmd, exited chan error, stderr *bytes.Buffer) string {
	cmd.Process.Kill()
	exited <- <-exited // for coldStart's deferred kill
	return stderr.String()
}

// cpuTime returns how long the threads of process pid have run, from the first field
// of each /proc/<pid>/task/<tid>/schedstat (nanoseconds on a CPU); 0 when unknown.
func cpuTime(pid int) time.Duration {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err != nil {
		return 0
	}
	var total time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			continue
		}
		if ns, err := strconv.ParseInt(f[0], 10, 64); err == nil {
			total += time.Duration(ns)
		}
	}
	return total
}

// faults returns the page faults (minor and major) of process pid so far, from
// /proc/<pid>/stat; 0 when unknown. Every page a process touches first costs one; on a
// paravirtualised machine, where each fault and each page-table update goes through
// the hypervisor, they are a large share of a cold start, and their count, unlike their
// time, does not depend on what else the machine is doing.
func faults(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name, in parentheses, may hold spaces: fields count from its end.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 10 {
		return 0
	}
	minflt, _ := strconv.ParseInt(f[7], 10, 64)
	majflt, _ := strconv.ParseInt(f[9], 10, 64)
	return minflt + majflt
}

// lambdaEnv is the environment Lambda gives every function (runtimeapi.Env: without
// its TZ=:UTC a Go program reads /etc/localtime the first time it formats a local time),
// with the execution role's credentials, which msk-iam takes from there.
func lambdaEnv(api string) []string {
	return append(runtimeapi.Env(api, "bench", "us-east-1", ".", 512),
		"AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY=bench-secret",
		"AWS_SESSION_TOKEN=session-token",
		"PATH="+os.Getenv("PATH"),
		"HOME="+os.Getenv("HOME"),
	)
}
