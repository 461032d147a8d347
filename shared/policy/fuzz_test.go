package policy

import (
	"strings"
	"testing"
)

// A policy the YAML library cannot take (it panics on a tag where a list
// is due) is an error naming the file, not a crash of synth or the CLI.
func TestMalformedPolicyIsAnError(t *testing.T) {
	_, err := Parse([]byte("principals:\n  admins: ! 00\n"), "policy.yaml", nil)
	if err == nil || !strings.HasPrefix(err.Error(), "policy.yaml: ") {
		t.Fatalf("got %v, want an error naming policy.yaml", err)
	}
}

// FuzzParse: on any input, Parse returns a policy or an error, never panics.
func FuzzParse(f *testing.F) {
	f.Add([]byte("principals:\n  admins: [\"arn:aws:iam::111122223333:role/admin\"]\n"))
	f.Add([]byte("rules:\n  cluster-admin-granted: {mode: remediate}\n"))
	f.Add([]byte("principals:\n  admins: ! 00\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data, "fuzz.yaml", []string{"cluster-admin-granted"})
		if (p == nil) == (err == nil) {
			t.Fatalf("got policy %v and error %v: want exactly one", p != nil, err)
		}
	})
}
