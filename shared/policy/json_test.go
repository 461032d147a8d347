package policy

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

// The JSON form the stack writes (json.Marshal of a validated policy) reads
// back as the same policy.
func TestParseJSONRoundTrip(t *testing.T) {
	example, err := os.ReadFile("../../policy.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{"cluster-admin-granted", "control-plane-logging-disabled", "iam-user-granted", "public-endpoint-opened"}
	for name, doc := range map[string]string{"full": full, "example": string(example), "minimal": "version: 1\n"} {
		t.Run(name, func(t *testing.T) {
			want, err := Parse([]byte(doc), "policy.yaml", ids)
			if err != nil {
				t.Fatal(err)
			}
			js, err := json.Marshal(want)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseJSON(js, "EKSGUARD_POLICY", ids)
			if err != nil {
				t.Fatalf("ParseJSON(%s): %v", js, err)
			}
			got.sourceName = want.sourceName
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip differs:\n got  %+v\n want %+v", got, want)
			}
		})
	}
	js, _ := json.Marshal(Default())
	if _, err := ParseJSON(js, "EKSGUARD_POLICY", nil); err != nil {
		t.Errorf("the built-in defaults as JSON: %v", err)
	}
}

func TestParseJSONIsStrict(t *testing.T) {
	tests := map[string]struct{ doc, want string }{
		"unknown key":          {`{"version":1,"principals":{"admin":["x"]}}`, `unknown field "admin"`},
		"wrong type":           {`{"version":1,"principals":{"admins":"arn:aws:iam::111122223333:role/a"}}`, "principals.admins: want []string, got string"},
		"bad CIDR":             {`{"version":1,"endpoint":{"publicAccessCidrs":["10.0.0.0/33"]}}`, "endpoint.publicAccessCidrs[0]"},
		"unknown rule":         {`{"version":1,"rules":{"no-such-rule":{"mode":"notify"}}}`, "no-such-rule"},
		"two documents":        {`{"version":1} {"version":1}`, "more than one JSON document"},
		"not JSON":             {"version: 1\n", "EKSGUARD_POLICY: invalid character"},
		"version":              {`{"version":2}`, "version"},
		"correlation key":      {`{"version":1,"correlation":{"window":"1h","count":5}}`, `unknown field "count"`},
		"correlation clusters": {`{"version":1,"correlation":{"clusters":-2}}`, "correlation.clusters"},
		"correlation window":   {`{"version":1,"correlation":{"window":"25h"}}`, "correlation.window"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParseJSON([]byte(tt.doc), "EKSGUARD_POLICY", known)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// What a function finds through AWS (Found) is never read from a policy
// document, nor written into the one the stack hands the functions.
func TestFoundIsNotAPolicyKey(t *testing.T) {
	for _, doc := range []string{"version: 1\nfound: {adminPolicies: {x: [y]}}\n", "version: 1\nFound: {}\n"} {
		if _, err := Parse([]byte(doc), "policy.yaml", nil); err == nil {
			t.Errorf("Parse(%q) = nil error, want an unknown-key error", doc)
		}
	}
	for _, doc := range []string{`{"version":1,"found":{}}`, `{"version":1,"Found":{"AdminPolicies":{"x":["y"]}}}`} {
		if _, err := ParseJSON([]byte(doc), "EKSGUARD_POLICY", nil); err == nil {
			t.Errorf("ParseJSON(%s) = nil error, want an unknown-key error", doc)
		}
	}
	p := Default()
	p.Found = Found{AdminPolicies: map[string][]string{"arn:aws:iam::111122223333:role/r": {"arn:aws:iam::aws:policy/AdministratorAccess"}}}
	js, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ToLower(string(js)), "found") || strings.Contains(string(js), "AdministratorAccess") {
		t.Errorf("marshalled policy carries Found: %s", js)
	}
}
