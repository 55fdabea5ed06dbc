// Package e2e is the end-to-end test of the deployed shape of sesguard: the real ingest, respond
// and notify `bootstrap` binaries driven through the Lambda Runtime API harness
// (shared/lambdatest) against moto (shared/awstest), a local Slack webhook stand-in, and the
// `sesguard restore` CLI. It holds tests only.
package e2e
