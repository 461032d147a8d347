package guard_test

import (
	"os"
	"strings"
	"testing"

	"github.com/eksguard/eksguard/shared/config"
)

// docs/remediation.md lists every EKSGUARD_* variable exactly as shared/config describes it.
func TestDocsListEveryVariable(t *testing.T) {
	b, err := os.ReadFile("../../docs/remediation.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, n := range config.Names {
		row := "| `" + n.Name + "` | " + n.Purpose + " |"
		if !strings.Contains(doc, row+"\n") {
			t.Errorf("docs/remediation.md lacks the row\n%s", row)
		}
	}
	if got, want := strings.Count(doc, "\n| `EKSGUARD_"), len(config.Names); got != want {
		t.Errorf("docs/remediation.md has %d EKSGUARD_* rows, shared/config has %d", got, want)
	}
}
