package finding

import (
	"runtime/debug"
	"strings"
	"sync"
)

// Build is what the running binary knows about the code it was built from.
type Build struct {
	Module   string // main module path
	Version  string // module version: a tag (v1.2.3), a pseudo-version, or "(devel)"
	Revision string // VCS commit, "" when not stamped (go test, go run, -buildvcs=false)
	Time     string // VCS commit time (RFC 3339)
	Modified bool   // the work tree had uncommitted changes
	Go       string // toolchain
}

// BuildInfo reads the binary's build information once.
var BuildInfo = sync.OnceValue(func() Build {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Build{}
	}
	return buildFrom(bi)
})

func buildFrom(bi *debug.BuildInfo) Build {
	b := Build{Module: bi.Main.Path, Version: bi.Main.Version, Go: bi.GoVersion}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// ProducerVersion is what findings and containment results carry in producer_version: the
// module version, plus the short commit (and "-dirty") when the build was stamped. It is ""
// when neither says anything (test binaries: "(devel)" and no VCS stamp), so goldens do not
// change with every commit.
func ProducerVersion() string { return BuildInfo().Producer() }

// Producer formats b as ProducerVersion does.
func (b Build) Producer() string {
	v := b.Version
	if v == "(devel)" {
		v = ""
	}
	if b.Revision == "" {
		return v
	}
	if v == "" {
		v = "(devel)"
	}
	rev := b.Revision
	if len(rev) > 12 {
		rev = rev[:12]
	}
	// Go 1.24+ stamps the main module with a pseudo-version that already names the commit
	// (v0.0.0-20261207143624-c37d3c244fb5, "+dirty" when modified): say it once.
	if strings.Contains(v, rev) {
		return v
	}
	if b.Modified {
		rev += "-dirty"
	}
	return v + "+" + rev
}
