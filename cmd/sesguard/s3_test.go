package main

import (
	"bytes"
	"context"
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
	// One day, plus the hour of slack on each side: 26 hour objects.
	if g := gets.Load(); g != 26 {
		t.Errorf("pruned read made %d GETs, want 26 (one day ± 1h)", g)
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
}
