// Package e2e is the end-to-end test of the deployed shape of sesguard: the real ingest, respond
// and notify `bootstrap` binaries driven through the Lambda Runtime API harness
// (shared/testsupport/lambdatest) against moto (shared/testsupport/awstest), a local Slack webhook stand-in, and the
// `sesguard restore` CLI. It holds tests only.
package e2e
