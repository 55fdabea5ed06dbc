package policy

import (
	_ "embed"
	"fmt"
)

//go:embed example.yaml
var example []byte

// ExampleName is the name the embedded example policy reports in messages.
const ExampleName = "example sesguard.yaml (embedded)"

// Example returns a copy of the embedded example policy file.
func Example() []byte {
	out := make([]byte, len(example))
	copy(out, example)
	return out
}

// LoadExample loads the embedded example policy.
func LoadExample() (*Policy, error) {
	p, err := Load(example, ExampleName)
	if err != nil {
		return nil, fmt.Errorf("embedded example policy: %w", err)
	}
	return p, nil
}
