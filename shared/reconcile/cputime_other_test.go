//go:build !unix

package reconcile

import "time"

func cpuTime() time.Duration { return 0 }
