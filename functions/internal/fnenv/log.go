package fnenv

import (
	"context"
	"io"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Log attribute keys every function uses, so one CloudWatch Logs Insights query finds a message
// or a finding across ingest, respond and notify.
const (
	LogRequestID = "request_id"
	LogFindingID = "finding_id"
	LogMessageID = "ses_message_id"
	LogRecord    = "record"
	LogFunction  = "function"
)

// NewLogger returns the JSON logger a function writes to (stderr in Lambda), tagged with the
// function name.
func NewLogger(w io.Writer, function string) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo})).With(LogFunction, function)
}

// ForInvocation adds the invocation's request id (from the Lambda context) to log.
func ForInvocation(ctx context.Context, log *slog.Logger) *slog.Logger {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return log.With(LogRequestID, lc.AwsRequestID)
	}
	return log
}

// Fatal logs err as the reason the function cannot start and exits with status 1; the Lambda
// service then reports Runtime.ExitError for the invoke and the log line says why.
func Fatal(log *slog.Logger, msg string, err error) {
	log.Error(msg, "error", err.Error())
	os.Exit(1)
}
