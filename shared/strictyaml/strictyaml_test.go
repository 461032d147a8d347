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

// A path the library cannot take (built from a document key such as
// "0[0:", found by FuzzParse) is an error, not a panic.
func TestFindMalformedPathIsAnError(t *testing.T) {
	f, err := Parse([]byte("rules:\n  a: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Find(f, "$.'rules'[0:"); err == nil {
		t.Error("Find of a malformed path: got no error, want one")
	}
	n, err := Find(f, "$.'rules'.'a'")
	if err != nil || n == nil || n.GetToken().Position.Line != 2 {
		t.Errorf("Find $.rules.a: got %v, %v; want the node on line 2", n, err)
	}
}
