package runtimeapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordersync/ordersync/internal/testkit"
	"github.com/ordersync/ordersync/local/runtimeapi"
)

type reply struct {
	Msg         string            `json:"msg"`
	RequestID   string            `json:"requestId"`
	ARN         string            `json:"arn"`
	PID         int               `json:"pid"`
	Env         map[string]string `json:"env"`
	HasDeadline bool              `json:"hasDeadline"`
}

func newFunction(t *testing.T, mod func(*runtimeapi.Config)) (*runtimeapi.Function, *testkit.Buffer) {
	t.Helper()
	bin := testkit.Build(t, "./testdata/echo") // once per test binary; skips with -short
	out := &testkit.Buffer{}
	cfg := runtimeapi.Config{
		Name:        "echo",
		Path:        bin,
		Env:         []string{"GREETING=hello"},
		Timeout:     5 * time.Second,
		MemorySize:  256,
		Concurrency: 2,
		Region:      "eu-west-1",
		Output:      func(int) io.Writer { return out },
		Logf:        t.Logf,
	}
	if mod != nil {
		mod(&cfg)
	}
	f, err := runtimeapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close(context.Background()) })
	return f, out
}

func invoke(t *testing.T, f *runtimeapi.Function, payload string) (reply, error) {
	t.Helper()
	b, err := f.Invoke(context.Background(), []byte(payload))
	if err != nil {
		return reply{}, err
	}
	var r reply
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("response %q: %v", b, err)
	}
	return r, nil
}

func TestInvokeEnvironmentAndReuse(t *testing.T) {
	f, out := newFunction(t, nil)
	first, err := invoke(t, f, `{"op":"echo","msg":"one"}`)
	if err != nil {
		t.Fatal(err)
	}
	second, err := invoke(t, f, `{"op":"echo","msg":"two"}`)
	if err != nil {
		t.Fatal(err)
	}
	if first.Msg != "one" || second.Msg != "two" {
		t.Errorf("messages %q, %q", first.Msg, second.Msg)
	}
	if first.PID != second.PID {
		t.Errorf("second invocation ran in process %d, want the first one's %d (reused)", second.PID, first.PID)
	}
	if first.RequestID == "" || first.RequestID == second.RequestID {
		t.Errorf("request ids %q, %q: want distinct, non-empty", first.RequestID, second.RequestID)
	}
	if want := "arn:aws:lambda:eu-west-1:123456789012:function:echo"; first.ARN != want {
		t.Errorf("ARN %q, want %q", first.ARN, want)
	}
	if !first.HasDeadline {
		t.Error("handler context has no deadline")
	}
	want := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        "echo",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_REGION":                      "eu-west-1",
		"_HANDLER":                        "bootstrap",
		"GREETING":                        "hello",
	}
	for k, v := range want {
		if got := first.Env[k]; got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if !strings.Contains(out.String(), "handled echo") {
		t.Errorf("function stderr not captured: %q", out.String())
	}
}

func TestInvokeFunctionError(t *testing.T) {
	f, _ := newFunction(t, nil)
	_, err := invoke(t, f, `{"op":"error","msg":"bad thing"}`)
	var fe *runtimeapi.FunctionError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v, want a *FunctionError", err)
	}
	if fe.Message != "bad thing" || fe.Type != "errorString" {
		t.Errorf("function error = %+v", fe)
	}
	// The process survives a handled error.
	if _, err := invoke(t, f, `{"op":"echo"}`); err != nil {
		t.Fatal(err)
	}
}

func TestInvokeCrashRestarts(t *testing.T) {
	f, _ := newFunction(t, func(c *runtimeapi.Config) { c.Concurrency = 1 })
	before, err := invoke(t, f, `{"op":"echo"}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := invoke(t, f, `{"op":"crash"}`); !errors.Is(err, runtimeapi.ErrCrashed) {
		t.Fatalf("err = %v, want ErrCrashed", err)
	}
	after, err := invoke(t, f, `{"op":"echo"}`)
	if err != nil {
		t.Fatalf("after a crash: %v", err)
	}
	if after.PID == before.PID {
		t.Errorf("still process %d after a crash", after.PID)
	}
}

func TestInvokeTimeoutKillsAndRestarts(t *testing.T) {
	f, _ := newFunction(t, func(c *runtimeapi.Config) { c.Concurrency = 1; c.Timeout = 2 * time.Second })
	if _, err := invoke(t, f, `{"op":"sleep","ms":60000}`); !errors.Is(err, runtimeapi.ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if _, err := invoke(t, f, `{"op":"echo"}`); err != nil {
		t.Fatalf("after a timeout: %v", err)
	}
}

// A response over Lambda's payload limit fails the invocation; it is not cut short.
func TestInvokeResponseTooLarge(t *testing.T) {
	f, _ := newFunction(t, nil)
	_, err := invoke(t, f, `{"op":"big"}`)
	var fe *runtimeapi.FunctionError
	if err == nil || errors.As(err, &fe) || !strings.Contains(err.Error(), "response too large") {
		t.Fatalf("err = %v, want response too large", err)
	}
}

func TestInvokeInitFailure(t *testing.T) {
	f, _ := newFunction(t, func(c *runtimeapi.Config) { c.Env = append(c.Env, "FAIL_INIT=1") })
	if _, err := invoke(t, f, `{"op":"echo"}`); !errors.Is(err, runtimeapi.ErrInit) {
		t.Fatalf("err = %v, want ErrInit", err)
	}
	if err := f.Start(context.Background()); !errors.Is(err, runtimeapi.ErrInit) {
		t.Fatalf("Start err = %v, want ErrInit", err)
	}
}

func TestConcurrencyOneInvocationPerProcess(t *testing.T) {
	f, _ := newFunction(t, func(c *runtimeapi.Config) { c.Concurrency = 2 })
	var wg sync.WaitGroup
	var mu sync.Mutex
	pids := map[int]int{}
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := invoke(t, f, `{"op":"sleep","ms":50}`)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			pids[r.PID]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(pids) > 2 {
		t.Errorf("%d processes for concurrency 2: %v", len(pids), pids)
	}
}

func TestCloseSendsSIGTERM(t *testing.T) {
	f, out := newFunction(t, func(c *runtimeapi.Config) { c.ShutdownGrace = 2 * time.Second })
	if _, err := invoke(t, f, `{"op":"echo"}`); err != nil {
		t.Fatal(err)
	}
	f.Close(context.Background())
	if !strings.Contains(out.String(), "sigterm") {
		t.Errorf("WithEnableSIGTERM hook did not run; output %q", out.String())
	}
	if _, err := f.Invoke(context.Background(), []byte(`{}`)); !errors.Is(err, runtimeapi.ErrClosed) {
		t.Errorf("invoke after close: %v, want ErrClosed", err)
	}
}
