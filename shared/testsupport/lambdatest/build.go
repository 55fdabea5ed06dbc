package lambdatest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
)

// Build compiles each main package (import paths, or paths relative to the current directory)
// for the host with the same flags as production (`-tags lambda.norpc -trimpath`, CGO off) into
// outDir/<last path element>/bootstrap, in one `go build` so shared packages compile once.
// It returns the bootstrap path per package name. Meant for TestMain: build once per test run.
func Build(ctx context.Context, outDir string, pkgs ...string) (map[string]string, error) {
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("lambdatest: build: no packages")
	}
	tmp, err := os.MkdirTemp(outDir, ".build-")
	if err != nil {
		return nil, fmt.Errorf("lambdatest: build: %w", err)
	}
	defer os.RemoveAll(tmp)
	args := []string{"build", "-tags", "lambda.norpc", "-trimpath", "-o", tmp + string(filepath.Separator)}
	cmd := exec.CommandContext(ctx, goTool(), append(args, pkgs...)...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("lambdatest: go build %v: %w\n%s", pkgs, err, out.Bytes())
	}
	bins := make(map[string]string, len(pkgs))
	for _, p := range pkgs {
		name := path.Base(filepath.ToSlash(p))
		dir := filepath.Join(outDir, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("lambdatest: build: %w", err)
		}
		dst := filepath.Join(dir, "bootstrap")
		if err := os.Rename(filepath.Join(tmp, name), dst); err != nil {
			return nil, fmt.Errorf("lambdatest: build %s: %w", p, err)
		}
		bins[name] = dst
	}
	return bins, nil
}

// goTool finds the go command: `go test` puts its own GOROOT/bin first on PATH.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "go" // not on PATH: let exec report it by name
}
