package glob

import "testing"

func TestMatch(t *testing.T) {
	tests := []struct {
		name, pattern, s string
		want             bool
	}{
		{"exact", "arn:aws:iam::1:role/a", "arn:aws:iam::1:role/a", true},
		{"exact differs", "arn:aws:iam::1:role/a", "arn:aws:iam::1:role/b", false},
		{"star crosses slash", "arn:aws:iam::*:role/*", "arn:aws:iam::1:role/path/x", true},
		{"suffix", "*-cluster-role", "prod-cluster-role", true},
		{"suffix differs", "*-cluster-role", "prod-cluster-role2", false},
		{"question", "role-?", "role-a", true},
		{"question needs one", "role-?", "role-", false},
		{"empty pattern", "", "x", false},
		{"empty both", "", "", true},
		{"star only", "*", "", true},
		{"backtrack", "a*b*c", "aXbYbZc", true},
		{"backtrack fail", "a*b*c", "aXbYbZ", false},
		{"prefix star", "eksctl-*-nodegroup-*", "eksctl-prod-nodegroup-ng1-NodeInstanceRole-X", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Match(tt.pattern, tt.s); got != tt.want {
				t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
			}
		})
	}
}

func TestAny(t *testing.T) {
	if !Any([]string{"x", "a*"}, "abc") {
		t.Error("Any should match the second pattern")
	}
	if Any(nil, "abc") {
		t.Error("Any of no patterns must not match")
	}
}
