// Command infra is the sesguard CDK app (`cdk.json`: "app": "go run ./infra"). It reads the
// policy file and the context values documented in README "Deploying with CDK" and synthesizes one
// environment-agnostic stack per account.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func main() {
	defer jsii.Close()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "sesguard infra:", err)
		os.Exit(1)
	}
}

func run() error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	app := awscdk.NewApp(nil)
	cfg, err := loadConfig(root, contextGetter(app))
	if err != nil {
		return err
	}
	if _, err := NewSesguardStack(app, cfg); err != nil {
		return err
	}
	app.Synth(nil)
	return nil
}

// repoRoot is the nearest directory at or above the working directory holding go.mod: the CLI
// runs the app from the repository root, tests run it from infra/.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: run from the sesguard repository")
		}
		dir = parent
	}
}
