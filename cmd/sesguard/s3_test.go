package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sesguard/sesguard/shared/ops/forensics"
	"github.com/sesguard/sesguard/shared/testsupport/awstest"
)

// TestInvestigateS3 reads the generated month from moto's S3: the --since/--until table equals
// the one from the local copy, only the pruned prefixes are listed and read (counted at the
// proxy), a corrupt object fails alone with its key and line, and the full read gives a rate.
func TestInvestigateS3(t *testing.T) {
	if testing.Short() {
		t.Skip("moto")
	}
	m := awstest.Start(t)
	m.Setenv(t)
	var gets, lists atomic.Int64
	m.Handle(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodGet {
			if r.URL.Query().Get("list-type") == "2" {
				lists.Add(1)
			} else if strings.Count(strings.Trim(r.URL.Path, "/"), "/") >= 1 {
				gets.Add(1)
			}
		}
		return false
	})
	ctx := context.Background()
	api := s3.NewFromConfig(m.Config(t), func(o *s3.Options) { o.UsePathStyle = true })
	const bucket = "archive"
	if _, err := api.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "events")
	st := writeHistory(t, dir, true)
	objects := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		objects++
		_, err = api.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("events/" + filepath.ToSlash(rel)), Body: bytes.NewReader(data)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// A corrupt object on another day than the one asked about.
	const badKey = "events/2026/05/25/07/zz-corrupt.gz"
	if _, err := api.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(badKey), Body: strings.NewReader("{\"eventType\":\"Send\",\"mail\":{\n")}); err != nil {
		t.Fatal(err)
	}
	objects++

	day := []string{"--since", "2026-05-20", "--until", "2026-05-21", "--by", "principal", "--format", "csv"}
	code, local, errOut := runCLI(t, "", os.Getenv, append([]string{"investigate", "--quiet", dir}, day...)...)
	if code != exitOK {
		t.Fatalf("local: exit %d\n%s", code, errOut)
	}
	gets.Store(0)
	lists.Store(0)
	code, remote, errOut := runCLI(t, "", os.Getenv, append([]string{"investigate", "s3://" + bucket + "/events/"}, day...)...)
	if code != exitOK {
		t.Fatalf("s3: exit %d\n%s", code, errOut)
	}
	if remote != local {
		t.Errorf("S3 table differs from the local one:\n--- s3 ---\n%s--- local ---\n%s", remote, local)
	}
	// One day, the hour before it (Firehose buffering) and the day after it (late outcomes):
	// 1 + 24 + 24 hour objects.
	if g := gets.Load(); g != 49 {
		t.Errorf("pruned read made %d GETs, want 49 (one day, 1 h before, %v after)", g, forensics.UntilSlack)
	}
	t.Logf("pruned: %d GETs, %d LISTs; %s", gets.Load(), lists.Load(), strings.TrimSpace(errOut))
	prunedGets, prunedLists := gets.Load(), lists.Load()

	gets.Store(0)
	lists.Store(0)
	start := time.Now()
	code, _, errOut = runCLI(t, "", os.Getenv, "investigate", "--quiet", "s3://"+bucket+"/events/", "--by", "principal")
	el := time.Since(start)
	if code != exitInput {
		t.Errorf("full read with a corrupt object: exit %d, want %d", code, exitInput)
	}
	if !strings.Contains(errOut, "s3://"+bucket+"/"+badKey+":") {
		t.Errorf("the corrupt object's error does not name s3://%s/%s:LINE:\n%s", bucket, badKey, errOut)
	}
	if g := gets.Load(); g != int64(objects) {
		t.Errorf("full read made %d GETs, want %d", g, objects)
	}

	t.Logf("history %d sends, %d objects, %.1f MB gzip; pruned (one day): %d GETs / %d LISTs; unpruned: %d GETs / %d LISTs in %v = %.2f MB/s (%.0f objects/s)",
		st.sends, objects, float64(st.bytes)/1e6, prunedGets, prunedLists, gets.Load(), lists.Load(), el.Round(time.Millisecond),
		float64(st.bytes)/1e6/el.Seconds(), float64(objects)/el.Seconds())

	// replay and policy suggest read S3 exactly as they read the local copy.
	_, rLocal, _ := runCLI(t, "", os.Getenv, "replay", "--format", "json", "--policy", filepath.Join("..", "..", "shared", "policy", "example.yaml"), dir)
	code, rRemote, errOut := runCLI(t, "", os.Getenv, "replay", "--format", "json", "--policy", filepath.Join("..", "..", "shared", "policy", "example.yaml"), "s3://"+bucket+"/events/")
	if code != exitInput || !strings.Contains(errOut, "s3://"+bucket+"/"+badKey+":") {
		t.Errorf("replay s3: exit %d, want %d naming the corrupt object\n%s", code, exitInput, errOut)
	}
	if rLocal == "" || rRemote != rLocal {
		t.Errorf("replay from S3 differs from the local copy (%d vs %d bytes)", len(rRemote), len(rLocal))
	}
	_, sLocal, _ := runCLI(t, "", os.Getenv, "policy", "suggest", "--quiet", dir)
	code, sRemote, errOut := runCLI(t, "", os.Getenv, "policy", "suggest", "--quiet", "s3://"+bucket+"/events/")
	if code != exitInput || sLocal == "" || sRemote != sLocal {
		t.Errorf("suggest from S3: exit %d, output equal to local: %v\n%s", code, sRemote == sLocal, errOut)
	}

}

// TestInvestigateS3Interrupt: a cancelled run (Ctrl-C) stops within a few objects and still
// prints what it read.
func TestInvestigateS3Interrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("moto")
	}
	m := awstest.Start(t)
	m.Setenv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var gets atomic.Int64
	m.Handle(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodGet && r.URL.Query().Get("list-type") == "" && strings.Count(strings.Trim(r.URL.Path, "/"), "/") >= 1 {
			if gets.Add(1) == 10 {
				cancel()
			}
		}
		return false
	})
	api := s3.NewFromConfig(m.Config(t), func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := api.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	line := `{"eventType":"Send","mail":{"timestamp":"2026-05-04T10:00:00.000Z","messageId":"m","source":"a@example.com","destination":["b@example.net"],"tags":{"ses:caller-identity":["app"],"ses:source-ip":["198.51.100.7"]}},"send":{}}` + "\n"
	for i := 0; i < 60; i++ {
		key := fmt.Sprintf("events/2026/05/04/10/o-%03d", i)
		if _, err := api.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String(key), Body: strings.NewReader(line)}); err != nil {
			t.Fatal(err)
		}
	}
	var out, errb bytes.Buffer
	code := run(ctx, env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: os.Getenv}, []string{"investigate", "--quiet", "s3://bkt/events/", "--by", "principal"})
	if code != exitInput || !strings.Contains(errb.String(), "stopped: context canceled") || !strings.Contains(out.String(), "app") {
		t.Errorf("interrupted run: exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	if g := gets.Load(); g > 10+s3Ahead+1 {
		t.Errorf("%d GETs after cancelling at the 10th: not prompt", g)
	}
	t.Logf("cancelled at GET 10; %d GETs in all", gets.Load())
}
