package strictyaml

import (
	"strings"
	"testing"
)

func TestMalformedDocumentsAreErrors(t *testing.T) {
	var v struct {
		Admins []string `yaml:"admins"`
	}
	for _, doc := range []string{"admins: ! 00\n", "! 00"} {
		if err := Unmarshal([]byte(doc), &v); err == nil {
			t.Errorf("Unmarshal(%q): got no error, want one", doc)
		}
	}
	if err := Unmarshal([]byte("admins: [a]\nother: 1\n"), &v); err == nil || !strings.Contains(err.Error(), "other") {
		t.Errorf("unknown key: got %v, want an error naming it", err)
	}
	if err := Unmarshal([]byte("admins: [a, b]\n"), &v); err != nil || len(v.Admins) != 2 {
		t.Errorf("good document: got %v %v, want [a b]", v.Admins, err)
	}
	if _, err := Parse([]byte("admins: [a]\n")); err != nil {
		t.Errorf("Parse: %v", err)
	}
}
