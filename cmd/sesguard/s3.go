package main

import (
	"context"
	"time"

	"github.com/sesguard/sesguard/shared/ops/forensics"
)

func s3Inputs(ctx context.Context, e env, cmd string, paths []string, local []forensics.Input, since, until time.Time, quiet bool) ([]forensics.Input, forensics.Opener, func(), error) {
	return local, nil, func() {}, nil
}
