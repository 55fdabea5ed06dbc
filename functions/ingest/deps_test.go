package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoEC2Client keeps the EC2 SDK (a large package: build time and binary size) out of the
// ingest binary; VPC blocks reach it through SESGUARD_VPC_CIDRS instead. (`go test` puts its
// own go command first on PATH.)
func TestNoEC2Client(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-tags", "lambda.norpc", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(dep, "github.com/aws/aws-sdk-go-v2/service/ec2") {
			t.Fatalf("ingest depends on %s", dep)
		}
	}
}
