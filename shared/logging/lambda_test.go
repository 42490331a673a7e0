package logging

import (
	"bytes"
	"context"
	"errors"
	"log"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/ordersync/ordersync/internal/testkit"
)

// TestInvocationErrors: a returned error and a panic are each one ERROR line with the
// request id; aws-lambda-go's own report of it (through the standard log package) is
// not a second line at the default level, while other standard log lines still show.
func TestInvocationErrors(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(NewJSONHandler(&buf, nil))
	prevOut, prevFlags, prevDefault := log.Writer(), log.Flags(), slog.Default()
	t.Cleanup(func() { slog.SetDefault(prevDefault); log.SetOutput(prevOut); log.SetFlags(prevFlags) })
	SetDefault(l)

	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-7"})
	fail := Invocations(l, func(context.Context, string) (int, error) { return 0, errors.New("produce: 3 of 5 not acknowledged") })
	if _, err := fail(ctx, "x"); err == nil {
		t.Fatal("error swallowed")
	}
	// What aws-lambda-go's invoke loop prints for it.
	log.Printf("%s", `{"errorMessage":"produce: 3 of 5 not acknowledged","errorType":"errorString"}`)
	log.Print("WARNING! something else")

	boom := Invocations(l, func(context.Context, string) (int, error) { panic("boom") })
	func() {
		defer func() {
			if recover() == nil {
				t.Error("panic swallowed")
			}
		}()
		_, _ = boom(ctx, "x")
	}()

	got := testkit.LogLines(t, buf.String())
	if len(got) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(got), buf.String())
	}
	for i, want := range []string{"produce: 3 of 5 not acknowledged", "panic: boom"} {
		l := got[[]int{0, 2}[i]]
		if l["level"] != "ERROR" || l["request_id"] != "req-7" || l["error"] != want {
			t.Errorf("line %v; want ERROR with request_id req-7 and error %q", l, want)
		}
	}
	if got[1]["level"] != "INFO" || got[1]["msg"] != "WARNING! something else" {
		t.Errorf("standard log line %v", got[1])
	}
}

// TestRequestID: the invocation's request id, and "" outside an invocation.
func TestRequestID(t *testing.T) {
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-7"})
	if got := RequestID(ctx); got != "req-7" {
		t.Errorf("RequestID = %q, want req-7", got)
	}
	if got := RequestID(context.Background()); got != "" {
		t.Errorf("RequestID outside an invocation = %q, want empty", got)
	}
}

// TestSetupBadLevel: a bad LOG_LEVEL stops a function's start-up in Main, before its init
// runs, with one line naming the variable.
func TestSetupBadLevel(t *testing.T) {
	t.Setenv("LOG_LEVEL", "loud")
	want := `LOG_LEVEL: unknown level "loud"`
	if _, err := setup(); err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") {
		t.Errorf("setup() = %v, want one line starting %q", err, want)
	}
}

// Handler is what aws-lambda-go calls without reflection: a lambda.Handler, which gets
// the payload and answers with the bytes as they are.
var _ lambda.Handler = Handler(nil)

func TestHandler(t *testing.T) {
	h := Handler(func(_ context.Context, payload []byte) ([]byte, error) {
		return append([]byte("got "), payload...), nil
	})
	if out, err := h.Invoke(context.Background(), []byte(`{}`)); err != nil || string(out) != "got {}" {
		t.Errorf("Invoke = %q, %v", out, err)
	}
}
