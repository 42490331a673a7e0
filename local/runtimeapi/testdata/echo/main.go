// Command echo is a tiny Lambda function for the runtime emulator's tests: it answers
// by the "op" of its payload.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type request struct {
	Op  string `json:"op"`
	MS  int    `json:"ms"`
	Msg string `json:"msg"`
}

type response struct {
	Msg         string            `json:"msg"`
	RequestID   string            `json:"requestId"`
	ARN         string            `json:"arn"`
	PID         int               `json:"pid"`
	Env         map[string]string `json:"env"`
	HasDeadline bool              `json:"hasDeadline"`
}

func handle(ctx context.Context, req request) (response, error) {
	lc, _ := lambdacontext.FromContext(ctx)
	_, hasDeadline := ctx.Deadline()
	switch req.Op {
	case "error":
		return response{}, errors.New(req.Msg)
	case "crash":
		fmt.Fprintln(os.Stderr, "crashing on purpose")
		os.Exit(3)
	case "sleep":
		time.Sleep(time.Duration(req.MS) * time.Millisecond)
	case "big":
		req.Msg = strings.Repeat("x", 6<<20) // over Lambda's response limit
	}
	env := map[string]string{}
	for _, k := range []string{"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_REGION", "_HANDLER", "GREETING"} {
		env[k] = os.Getenv(k)
	}
	fmt.Fprintln(os.Stderr, "handled", req.Op)
	return response{Msg: req.Msg, RequestID: lc.AwsRequestID, ARN: lc.InvokedFunctionArn, PID: os.Getpid(), Env: env, HasDeadline: hasDeadline}, nil
}

func main() {
	if os.Getenv("FAIL_INIT") != "" {
		fmt.Fprintln(os.Stderr, "init failed on purpose")
		os.Exit(2)
	}
	lambda.StartWithOptions(handle, lambda.WithEnableSIGTERM(func() { fmt.Fprintln(os.Stderr, "sigterm") }))
}
