// Package cputime reads the process's own CPU time for benchmarks: on a shared machine CPU
// seconds measure the benchmark's cost where wall-clock time also measures the neighbours' load.
// Used by tests and benchmarks only.
package cputime
