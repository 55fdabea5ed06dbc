// Command fn is a test-only Lambda function for the lambdatest harness. Its behaviour is picked by
// the event: {"op":"echo"|"error"|"panic"|"exit"|"sleep","value":...}. With FN_INIT_FAIL set it
// fails during init, as a function with bad configuration would.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Op    string          `json:"op"`
	Value json.RawMessage `json:"value"`
}

type reply struct {
	Value     json.RawMessage `json:"value"`
	RequestID string          `json:"request_id"`
	Function  string          `json:"function"`
	HasDL     bool            `json:"has_deadline"`
	Pid       int             `json:"pid"`
}

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if msg := os.Getenv("FN_INIT_FAIL"); msg != "" {
		log.Error("init failed", "reason", msg)
		os.Exit(3)
	}
	log.Info("init done")
	lambda.Start(func(ctx context.Context, e event) (*reply, error) {
		lc, _ := lambdacontext.FromContext(ctx)
		_, hasDL := ctx.Deadline()
		log.Info("invoke", "request_id", lc.AwsRequestID, "op", e.Op)
		switch e.Op {
		case "echo":
			return &reply{Value: e.Value, RequestID: lc.AwsRequestID, Function: lambdacontext.FunctionName, HasDL: hasDL, Pid: os.Getpid()}, nil
		case "error":
			return nil, errors.New("asked to fail")
		case "panic":
			panic("asked to panic")
		case "exit":
			os.Exit(7)
		case "sleep":
			time.Sleep(time.Hour)
		}
		return nil, fmt.Errorf("unknown op %q", e.Op)
	})
}
