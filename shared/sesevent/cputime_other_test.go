//go:build !unix

package sesevent

import "time"

func cpuTime() time.Duration { return 0 }
