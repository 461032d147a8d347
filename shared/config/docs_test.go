package config_test

import (
	"os"
	"strings"
	"testing"

	"github.com/eksguard/eksguard/shared/config"
)

// README.md and docs/remediation.md list every EKSGUARD_* variable exactly
// as shared/config describes it.
func TestDocsListEveryVariable(t *testing.T) {
	for _, path := range []string{"../../README.md", "../../docs/remediation.md"} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		doc := string(b)
		for _, n := range config.Names {
			row := "| `" + n.Name + "` | " + n.Purpose + " |"
			if !strings.Contains(doc, row+"\n") {
				t.Errorf("%s lacks the row\n%s", path, row)
			}
		}
		if got, want := strings.Count(doc, "\n| `EKSGUARD_"), len(config.Names); got != want {
			t.Errorf("%s has %d EKSGUARD_* rows, shared/config has %d", path, got, want)
		}
	}
}
