// Package runtimeapi provides a Lambda Runtime API emulator: it runs a function's bootstrap
// as real processes, hands them invocations through /2018-06-01/runtime/invocation/next,
// and collects their responses and errors, one invocation per process at a time.
package runtimeapi

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Errors returned by Invoke.
var (
	// ErrClosed is returned when the function is shutting down.
	ErrClosed = errors.New("function is shut down")
	// ErrCrashed is returned when the process exits during an invocation.
	ErrCrashed = errors.New("process exited")
	// ErrTimeout is returned when an invocation runs past the function's timeout.
	ErrTimeout = errors.New("task timed out")
	// ErrInit is returned when the process fails before it asks for its first invocation.
	ErrInit = errors.New("init failed")
)

// Env returns the variables Lambda sets for a function on the provided.al2023 runtime
// (its reserved ones, TZ=:UTC among them), for a process served by the Runtime API at
// api. Credentials are not among them.
func Env(api, name, region, dir string, memoryMB int) []string {
	return []string{
		"AWS_LAMBDA_RUNTIME_API=" + api,
		"AWS_LAMBDA_FUNCTION_NAME=" + name,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(memoryMB),
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + name,
		"AWS_LAMBDA_LOG_STREAM_NAME=" + time.Now().UTC().Format("2006/01/02") + "/[$LATEST]" + randomHex(16),
		"AWS_REGION=" + region,
		"AWS_DEFAULT_REGION=" + region,
		"AWS_EXECUTION_ENV=AWS_Lambda_provided.al2023",
		"_HANDLER=bootstrap",
		"LAMBDA_TASK_ROOT=" + dir,
		"TZ=:UTC",
	}
}

// MaxResponseSize is Lambda's limit for a synchronous response payload.
const MaxResponseSize = 6 << 20

// FunctionError is an error the function reported through /response's sibling /error.
type FunctionError struct {
	Type    string          `json:"errorType"`
	Message string          `json:"errorMessage"`
	Payload json.RawMessage `json:"-"` // the body as the function sent it
}

func (e *FunctionError) Error() string {
	if e.Type == "" {
		return e.Message
	}
	return e.Type + ": " + e.Message
}

// Config describes a function to run.
type Config struct {
	Name          string        // AWS_LAMBDA_FUNCTION_NAME
	Path          string        // the bootstrap executable
	Dir           string        // working directory of the process
	Env           []string      // KEY=VALUE added to the Lambda variables (template environment)
	Timeout       time.Duration // per invocation; the process is killed and restarted past it
	MemorySize    int           // MB, reported to the function only
	Concurrency   int           // processes at most, one invocation each
	Region        string
	AccountID     string
	Output        func(instance int) io.Writer // where the process's stdout and stderr go
	Logf          func(format string, args ...any)
	InitTimeout   time.Duration // how long a process may take to ask for its first invocation
	ShutdownGrace time.Duration // between SIGTERM and SIGKILL on shutdown
}

// Function runs one function's processes.
type Function struct {
	cfg Config
	arn string
	sem chan struct{}  // one token per busy instance
	wg  sync.WaitGroup // in-flight invocations

	mu     sync.Mutex
	closed bool
	all    []*instance
	idle   []*instance // most recently used last, so warm processes are reused first
}

// acquire takes an idle instance, waiting while all are busy.
func (f *Function) acquire(ctx context.Context) (*instance, error) {
	select {
	case f.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	// Prefer a running process (warm start) over an instance without one (cold start).
	pick := len(f.idle) - 1
	for i := len(f.idle) - 1; i >= 0; i-- {
		if f.idle[i].proc != nil {
			pick = i
			break
		}
	}
	in := f.idle[pick]
	f.idle = append(f.idle[:pick], f.idle[pick+1:]...)
	return in, nil
}

func (f *Function) release(in *instance) {
	f.mu.Lock()
	f.idle = append(f.idle, in)
	f.mu.Unlock()
	<-f.sem
}

// New prepares a function; its processes start at their first invocation and are reused.
func New(cfg Config) (*Function, error) {
	if cfg.Path == "" {
		return nil, errors.New("runtimeapi: no bootstrap path")
	}
	cfg.Name = cmp.Or(cfg.Name, "function")
	if cfg.Concurrency < 1 {
		cfg.Concurrency = 1
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 3 * time.Second
	}
	if cfg.MemorySize <= 0 {
		cfg.MemorySize = 128
	}
	cfg.Region = cmp.Or(cfg.Region, "us-east-1")
	cfg.AccountID = cmp.Or(cfg.AccountID, "123456789012")
	if cfg.InitTimeout <= 0 {
		cfg.InitTimeout = 10 * time.Second
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = 500 * time.Millisecond
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.Output == nil {
		cfg.Output = func(int) io.Writer { return io.Discard }
	}
	f := &Function{
		cfg: cfg,
		arn: fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", cfg.Region, cfg.AccountID, cfg.Name),
		sem: make(chan struct{}, cfg.Concurrency),
	}
	for i := cfg.Concurrency - 1; i >= 0; i-- {
		in := &instance{f: f, n: i + 1}
		f.all = append(f.all, in)
		f.idle = append(f.idle, in)
	}
	return f, nil
}

// ARN is the function ARN the function sees in Lambda-Runtime-Invoked-Function-Arn.
func (f *Function) ARN() string { return f.arn }

// Name is the function name.
func (f *Function) Name() string { return f.cfg.Name }

// Start starts one process and waits until it asks for work, so that a broken bootstrap
// shows at start-up rather than at the first request.
func (f *Function) Start(ctx context.Context) error {
	in, err := f.acquire(ctx)
	if err != nil {
		return err
	}
	defer f.release(in)
	if err := in.ensure(); err != nil {
		return err
	}
	select {
	case <-in.proc.ready:
		return nil
	case <-in.proc.exited:
		return fmt.Errorf("%s: %w: %v", f.cfg.Name, ErrInit, in.proc.exitErr())
	case <-time.After(f.cfg.InitTimeout):
		in.kill()
		return fmt.Errorf("%s: %w: no request for work within %s", f.cfg.Name, ErrInit, f.cfg.InitTimeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Invoke runs one invocation and returns the function's response payload. A function
// error is a *FunctionError; a crash, timeout or init failure wraps ErrCrashed,
// ErrTimeout or ErrInit, and the process is replaced for the next invocation.
func (f *Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil, ErrClosed
	}
	f.wg.Add(1)
	f.mu.Unlock()
	defer f.wg.Done()

	in, err := f.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer f.release(in)
	return in.invoke(ctx, payload)
}

// Close waits for in-flight invocations, then stops every process: SIGTERM (the function's
// WithEnableSIGTERM hooks run), and SIGKILL after the grace period, as Lambda does.
func (f *Function) Close(ctx context.Context) error {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	done := make(chan struct{})
	go func() { f.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	var wg sync.WaitGroup
	for _, in := range f.all {
		wg.Add(1)
		go func() { defer wg.Done(); in.stop(f.cfg.ShutdownGrace) }()
	}
	wg.Wait()
	return ctx.Err()
}

// invocation is one request handed to a process.
type invocation struct {
	id       string
	payload  []byte
	deadline time.Time
	trace    string
	result   chan result // buffered 1
}

type result struct {
	body []byte
	err  error
}

// instance is one execution environment: a process and the Runtime API it talks to.
type instance struct {
	f    *Function
	n    int
	proc *process // nil until first use and after a crash
}

type process struct {
	cmd     *exec.Cmd
	srv     *http.Server
	ln      net.Listener
	work    chan *invocation // the /next handler receives from here
	ready   chan struct{}    // closed at the first /next
	once    sync.Once
	exited  chan struct{} // closed when the process has exited
	waitErr error
	down    chan struct{} // closed when the instance shuts down (ends extension /event/next)
	downOne sync.Once
	outputs []io.Closer

	mu      sync.Mutex
	current *invocation
	initErr *FunctionError
}

func (p *process) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.initErr != nil {
		return p.initErr
	}
	if p.waitErr != nil {
		return p.waitErr
	}
	return errors.New("exit status 0")
}

func (in *instance) ensure() error {
	if in.proc != nil {
		select {
		case <-in.proc.exited:
			in.proc.cleanup()
			in.proc = nil
		default:
			return nil
		}
	}
	p, err := in.start()
	if err != nil {
		return err
	}
	in.proc = p
	return nil
}

func (in *instance) start() (*process, error) {
	cfg := in.f.cfg
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("runtime api listener: %w", err)
	}
	p := &process{
		ln:     ln,
		work:   make(chan *invocation),
		ready:  make(chan struct{}),
		exited: make(chan struct{}),
		down:   make(chan struct{}),
	}
	p.srv = &http.Server{Handler: in.handler(p), ReadHeaderTimeout: 10 * time.Second}
	go p.srv.Serve(ln) //nolint:errcheck // ends with ErrServerClosed at cleanup

	out := cfg.Output(in.n)
	stdout, stderr := out, out
	cmd := exec.Command(cfg.Path)
	cmd.Dir = cfg.Dir
	cmd.Env = append(os.Environ(), cfg.Env...)
	cmd.Env = append(cmd.Env, Env(ln.Addr().String(), cfg.Name, cfg.Region, cfg.Dir, cfg.MemorySize)...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// Its own process group, so that Ctrl-C in the terminal reaches the stack, which then
	// stops its functions in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		p.srv.Close()
		return nil, fmt.Errorf("start %s: %w", cfg.Path, err)
	}
	p.cmd = cmd
	if c, ok := out.(io.Closer); ok {
		p.outputs = append(p.outputs, c)
	}
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(p.exited)
	}()
	cfg.Logf("instance %d: process %d started", in.n, cmd.Process.Pid)
	return p, nil
}

func (p *process) cleanup() {
	p.downOne.Do(func() { close(p.down) })
	p.srv.Close()
	for _, c := range p.outputs {
		c.Close()
	}
}

func (in *instance) kill() {
	if in.proc == nil {
		return
	}
	// An error means the process is already gone, which is what is wanted.
	_ = in.proc.cmd.Process.Kill()
	<-in.proc.exited
	in.proc.cleanup()
	in.proc = nil
}

func (in *instance) stop(grace time.Duration) {
	p := in.proc
	if p == nil {
		return
	}
	// Errors mean the process has exited already; p.exited says so just as well.
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	p.cleanup()
	in.proc = nil
}

func (in *instance) invoke(ctx context.Context, payload []byte) ([]byte, error) {
	cfg := in.f.cfg
	if err := in.ensure(); err != nil {
		return nil, err
	}
	p := in.proc
	inv := &invocation{
		id:      newRequestID(),
		payload: payload,
		trace:   newTraceID(),
		result:  make(chan result, 1),
	}
	// The process may still be initialising: wait for it to ask for work.
	handed := false
	initTimer := time.NewTimer(cfg.InitTimeout)
	defer initTimer.Stop()
	for !handed {
		inv.deadline = time.Now().Add(cfg.Timeout)
		select {
		case p.work <- inv:
			handed = true
		case <-p.exited:
			err := fmt.Errorf("%s: %w: %v", cfg.Name, ErrInit, p.exitErr())
			cfg.Logf("instance %d: %v; restarting at the next invocation", in.n, err)
			p.cleanup()
			in.proc = nil
			return nil, err
		case <-initTimer.C:
			in.kill()
			return nil, fmt.Errorf("%s: %w: no request for work within %s", cfg.Name, ErrInit, cfg.InitTimeout)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	// A caller that gives up does not end the invocation: Lambda runs it to completion
	// or timeout, and so does this, so that the process is free again when it returns.
	timer := time.NewTimer(time.Until(inv.deadline))
	defer timer.Stop()
	select {
	case r := <-inv.result:
		return r.body, r.err
	case <-p.exited:
		// The response may have arrived just before the exit.
		select {
		case r := <-inv.result:
			return r.body, r.err
		default:
		}
		err := fmt.Errorf("%s: request %s: %w (%v)", cfg.Name, inv.id, ErrCrashed, p.exitErr())
		cfg.Logf("instance %d: %v; restarting", in.n, err)
		p.cleanup()
		in.proc = nil
		in.restart()
		return nil, err
	case <-timer.C:
		cfg.Logf("instance %d: request %s timed out after %s; killing and restarting", in.n, inv.id, cfg.Timeout)
		in.kill()
		in.restart()
		return nil, fmt.Errorf("%s: request %s: %w after %s", cfg.Name, inv.id, ErrTimeout, cfg.Timeout)
	}
}

// restart starts a fresh process in place of a dead one; a failure to start is reported
// at the next invocation, which tries again.
func (in *instance) restart() {
	if err := in.ensure(); err != nil {
		in.f.cfg.Logf("instance %d: restart: %v", in.n, err)
	}
}

const (
	headerRequestID   = "Lambda-Runtime-Aws-Request-Id"
	headerDeadline    = "Lambda-Runtime-Deadline-Ms"
	headerARN         = "Lambda-Runtime-Invoked-Function-Arn"
	headerTrace       = "Lambda-Runtime-Trace-Id"
	headerErrorType   = "Lambda-Runtime-Function-Error-Type"
	headerErrorBody   = "Lambda-Runtime-Function-Error-Body"
	headerExtensionID = "Lambda-Extension-Identifier"
)

func (in *instance) handler(p *process) http.Handler {
	api := &api{in: in, p: p}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", api.next)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", api.response)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", api.invocationError)
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", api.initError)
	// The Extensions API, as far as aws-lambda-go's WithEnableSIGTERM uses it: registering
	// any extension makes Lambda send SIGTERM before SIGKILL at shutdown.
	mux.HandleFunc("POST /2020-01-01/extension/register", api.registerExtension)
	mux.HandleFunc("GET /2020-01-01/extension/event/next", api.nextExtensionEvent)
	return mux
}

// api serves the Runtime API to one process of an instance.
type api struct {
	in *instance
	p  *process
}

// next hands the process its next invocation, waiting for one.
func (a *api) next(w http.ResponseWriter, r *http.Request) {
	p := a.p
	p.once.Do(func() { close(p.ready) })
	// The previous invocation, if any, is complete once the runtime asks for more.
	p.mu.Lock()
	p.current = nil
	p.mu.Unlock()
	var inv *invocation
	select {
	case inv = <-p.work:
	case <-p.down:
		http.Error(w, `{"errorMessage":"shutting down","errorType":"ShutDown"}`, http.StatusGone)
		return
	case <-r.Context().Done():
		return
	}
	p.mu.Lock()
	p.current = inv
	p.mu.Unlock()
	h := w.Header()
	h.Set(headerRequestID, inv.id)
	h.Set(headerDeadline, strconv.FormatInt(inv.deadline.UnixMilli(), 10))
	h.Set(headerARN, a.in.f.arn)
	h.Set(headerTrace, inv.trace)
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(inv.payload) //nolint:errcheck // a broken pipe shows as the process's failure
}

// response takes an invocation's result.
func (a *api) response(w http.ResponseWriter, r *http.Request) {
	inv, ok := a.p.take(r.PathValue("id"))
	if !ok {
		runtimeError(w, http.StatusBadRequest, "InvalidRequestID", "unknown or finished request id")
		return
	}
	name := a.in.f.cfg.Name
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxResponseSize+1))
	if err != nil {
		inv.result <- result{err: fmt.Errorf("%s: read response: %w", name, err)}
		runtimeError(w, http.StatusBadRequest, "InvalidResponse", err.Error())
		return
	}
	if len(body) > MaxResponseSize {
		inv.result <- result{err: fmt.Errorf("%s: response too large: over %d bytes", name, MaxResponseSize)}
		runtimeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "response payload too large")
		return
	}
	// aws-lambda-go reports a failure while streaming the body in trailers.
	if t := r.Trailer.Get(headerErrorType); t != "" {
		fe := &FunctionError{Type: t}
		if raw, err := decodeBase64(r.Trailer.Get(headerErrorBody)); err == nil {
			fe.Payload = raw
			json.Unmarshal(raw, fe) //nolint:errcheck // the type alone is enough
		}
		inv.result <- result{err: fe}
	} else {
		inv.result <- result{body: body}
	}
	accepted(w)
}

// invocationError takes an invocation's error.
func (a *api) invocationError(w http.ResponseWriter, r *http.Request) {
	inv, ok := a.p.take(r.PathValue("id"))
	if !ok {
		runtimeError(w, http.StatusBadRequest, "InvalidRequestID", "unknown or finished request id")
		return
	}
	inv.result <- result{err: readFunctionError(r)}
	accepted(w)
}

// initError records that the process failed before its first invocation.
func (a *api) initError(w http.ResponseWriter, r *http.Request) {
	fe := readFunctionError(r)
	a.p.mu.Lock()
	a.p.initErr = fe
	a.p.mu.Unlock()
	a.in.f.cfg.Logf("instance %d: init error: %v", a.in.n, fe)
	accepted(w)
}

func (a *api) registerExtension(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set(headerExtensionID, newRequestID())
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"functionName":%q,"functionVersion":"$LATEST","handler":"bootstrap"}`, a.in.f.cfg.Name)
}

// nextExtensionEvent answers SHUTDOWN once the process is being stopped.
func (a *api) nextExtensionEvent(w http.ResponseWriter, r *http.Request) {
	select {
	case <-a.p.down:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"eventType":"SHUTDOWN","shutdownReason":"spindown"}`)
	case <-r.Context().Done():
	}
}

func accepted(w http.ResponseWriter) {
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, `{"status":"OK"}`)
}

// take returns the in-flight invocation with id and marks it answered.
func (p *process) take(id string) (*invocation, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.current == nil || p.current.id != id {
		return nil, false
	}
	inv := p.current
	p.current = nil
	return inv, true
}

func readFunctionError(r *http.Request) *FunctionError {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxResponseSize))
	fe := &FunctionError{Type: r.Header.Get(headerErrorType), Payload: body}
	if err != nil {
		fe.Message = "read error body: " + err.Error()
		return fe
	}
	var m struct {
		Type    string `json:"errorType"`
		Message string `json:"errorMessage"`
	}
	if json.Unmarshal(body, &m) == nil {
		if m.Type != "" {
			fe.Type = m.Type
		}
		fe.Message = m.Message
	} else {
		fe.Message = string(bytes.TrimSpace(body))
	}
	if fe.Type == "" {
		fe.Type = "Unhandled"
	}
	return fe
}

func runtimeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"errorType": typ, "errorMessage": msg}) //nolint:errcheck
}

// crypto/rand.Read never fails (it crashes the program instead).
func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func newTraceID() string {
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", time.Now().Unix(), randomHex(12), randomHex(8))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func decodeBase64(s string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(s)
}
