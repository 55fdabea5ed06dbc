package main

import (
	"archive/zip"
	"bytes"
	"context"
	"debug/elf"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesguard/sesguard/shared/testsupport/lambdatest"
)

func TestDiscover(t *testing.T) {
	got, err := discover("testdata/functions")
	if err != nil || !slices.Equal(got, []string{"hello"}) {
		t.Fatalf("discover = %v, %v; want [hello]", got, err)
	}
	if _, err := discover(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no function packages") {
		t.Fatalf("discover(empty) err = %v", err)
	}
}

func TestWriteZipKeepsModeAndIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bootstrap")
	if err := os.WriteFile(bin, []byte("\x7fELF fake"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := []zipFile{{name: "bootstrap", path: bin, mode: 0o755}}
	a, b := filepath.Join(dir, "a.zip"), filepath.Join(dir, "b.zip")
	if err := writeZip(a, files); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // a timestamp from the clock would differ now
	if err := writeZip(b, files); err != nil {
		t.Fatal(err)
	}
	ab, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if !bytes.Equal(ab, bb) {
		t.Error("two zips of the same file differ")
	}
	zr, err := zip.OpenReader(a)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" || zr.File[0].Mode().Perm() != 0o755 {
		t.Fatalf("zip entries = %+v", zr.File)
	}
}

func TestRunRejectsBadArch(t *testing.T) {
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"-arch", "386"}, &bytes.Buffer{}, &stderr); code != 1 {
		t.Fatalf("exit = %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), `-arch "386"`) {
		t.Errorf("stderr = %q", stderr.String())
	}
}

// TestRunBuildsRunnableBootstrap builds the testdata function for the host architecture (the
// flags are the production ones), checks the artifacts and runs the bootstrap through the
// Runtime API harness.
func TestRunBuildsRunnableBootstrap(t *testing.T) {
	if testing.Short() {
		t.Skip("short: skipping the build of every Lambda binary")
	}
	if runtime.GOOS != "linux" || (runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64") {
		t.Skipf("host %s/%s cannot run a linux Lambda binary", runtime.GOOS, runtime.GOARCH)
	}
	out := t.TempDir()
	policy := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(policy, []byte("version: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-out", out, "-arch", runtime.GOARCH, "-src", "testdata/functions", "-policy", policy}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	bin := filepath.Join(out, "hello", "bootstrap")
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("bootstrap is not an ELF binary: %v", err)
	}
	if f.Section(".symtab") != nil {
		t.Error("bootstrap has a symbol table: -ldflags=-s not applied")
	}
	f.Close()
	if !strings.Contains(stdout.String(), "hello") || !strings.Contains(stdout.String(), "MiB") {
		t.Errorf("sizes not printed:\n%s", stdout.String())
	}
	zr, err := zip.OpenReader(filepath.Join(out, "hello.zip"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, zf := range zr.File {
		names = append(names, zf.Name)
	}
	zr.Close()
	if !slices.Equal(names, []string{"bootstrap", "policy.yaml"}) {
		t.Errorf("zip entries = %v", names)
	}

	// A later build without -policy must not leave the old policy beside the bootstrap.
	if code := run(context.Background(), []string{"-out", out, "-arch", runtime.GOARCH, "-src", "testdata/functions"}, &stdout, &stderr); code != 0 {
		t.Fatalf("rebuild exit %d: %s", code, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(out, "hello", "policy.yaml")); !os.IsNotExist(err) {
		t.Errorf("stale policy.yaml left in the function folder: %v", err)
	}

	rt, err := lambdatest.New(lambdatest.Options{Binary: bin})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	resp, fnErr, err := rt.Invoke(context.Background(), []byte(`{}`))
	if err != nil || fnErr != nil || string(resp) != `"hello"` {
		t.Fatalf("invoke = %q, %v, %v\n%s", resp, fnErr, err, rt.Logs())
	}
}
