package render_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestRenderersLinkNoClients keeps the renderers pure: they turn findings into documents and
// link no AWS service client, no Slack interaction and no delivery code (the words they share
// live in shared/core). A service's types package is fine; its client package is not.
func TestRenderersLinkNoClients(t *testing.T) {
	for _, pkg := range []string{"./asff", "./ocsf", "./emf"} {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			service, isService := strings.CutPrefix(dep, "github.com/aws/aws-sdk-go-v2/service/")
			client := isService && !strings.Contains(service, "/")
			ours := strings.HasPrefix(dep, "github.com/sesguard/sesguard/shared/") &&
				!strings.HasPrefix(dep, "github.com/sesguard/sesguard/shared/core/") &&
				!strings.HasPrefix(dep, "github.com/sesguard/sesguard/shared/render/")
			if client || ours {
				t.Errorf("%s links %s", pkg, dep)
			}
		}
	}
}
