package logging

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Handler is a Lambda handler of the invocation's payload bytes: the event's JSON in,
// the response's JSON out. It is a lambda.Handler, which the runtime calls as it is: no
// reflection, and no encoding/json on either side.
type Handler func(ctx context.Context, payload []byte) ([]byte, error)

// Invoke calls h.
func (h Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) { return h(ctx, payload) }

// Invocations wraps a Lambda handler so that every invocation error, returned or
// panicked, is logged as one ERROR line carrying the Lambda request id. aws-lambda-go
// reports the same error through the standard log package, without the request id;
// SetDefault lowers that copy to debug level.
func Invocations[In, Out any](l *slog.Logger, handle func(context.Context, In) (Out, error)) func(context.Context, In) (Out, error) {
	return func(ctx context.Context, in In) (out Out, err error) {
		defer func() {
			if p := recover(); p != nil {
				invocationError(ctx, l, "invocation panicked", fmt.Errorf("panic: %v", p))
				panic(p) // the runtime reports it and starts a fresh process
			}
		}()
		out, err = handle(ctx, in)
		if err != nil {
			invocationError(ctx, l, "invocation failed", err)
		}
		return out, err
	}
}

// RequestID returns the Lambda request id of the invocation ctx belongs to, or "" outside
// an invocation. Every log line of an invocation carries it as request_id.
func RequestID(ctx context.Context) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return lc.AwsRequestID
	}
	return ""
}

func invocationError(ctx context.Context, l *slog.Logger, msg string, err error) {
	attrs := []slog.Attr{slog.String("error", err.Error())}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		attrs = append([]slog.Attr{slog.String("request_id", lc.AwsRequestID)}, attrs...)
	}
	l.LogAttrs(ctx, slog.LevelError, msg, attrs...)
}

// SetDefault makes l the default logger, and routes the standard log package into it:
// at info level, except aws-lambda-go's report of an invocation error (a JSON object
// starting with "errorMessage"), which goes at debug level because Invocations has
// already logged it as an ERROR line with the request id.
func SetDefault(l *slog.Logger) {
	slog.SetDefault(l)
	log.SetFlags(0)
	log.SetOutput(stdLog{l.Handler()})
}

// stdLog writes the standard log package's lines into a slog handler.
type stdLog struct{ h slog.Handler }

var runtimeErrorReport = []byte(`{"errorMessage":`)

func (w stdLog) Write(p []byte) (int, error) {
	level := slog.LevelInfo
	if bytes.HasPrefix(p, runtimeErrorReport) {
		level = slog.LevelDebug
	}
	ctx := context.Background()
	if !w.h.Enabled(ctx, level) {
		return len(p), nil
	}
	r := slog.NewRecord(time.Now(), level, string(bytes.TrimSuffix(p, []byte("\n"))), 0)
	return len(p), w.h.Handle(ctx, r)
}

// setup is the first step of a Lambda function's init: the logger New builds from the
// environment, writing to stderr, made the default with SetDefault.
func setup() (*slog.Logger, error) {
	l, err := New(os.Stderr, os.Getenv)
	if err != nil {
		return nil, err
	}
	SetDefault(l)
	return l, nil
}

// Main is a Lambda function's main: it sets up the logger from the environment (JSON on
// stderr, the default logger too), runs init with it, which starts the Lambda loop, and
// when either fails prints "<name>: <error>" to stderr and exits 1.
func Main(name string, init func(*slog.Logger) error) {
	l, err := setup()
	if err == nil {
		err = init(l)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}
