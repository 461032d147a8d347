package identity

import "testing"

func TestPartition(t *testing.T) {
	for region, want := range map[string]string{
		"eu-west-1": "aws", "us-east-1": "aws", "": "aws", "il-central-1": "aws",
		"cn-north-1": "aws-cn", "cn-northwest-1": "aws-cn",
		"us-gov-west-1": "aws-us-gov", "us-gov-east-1": "aws-us-gov",
		"us-iso-east-1": "aws-iso", "us-isob-east-1": "aws-iso-b", "us-isof-south-1": "aws-iso-f",
		"eu-isoe-west-1": "aws-iso-e", "eusc-de-east-1": "aws-eusc",
	} {
		if got := Partition(region); got != want {
			t.Errorf("Partition(%q) = %q, want %q", region, got, want)
		}
	}
}

func TestNamesAndAccounts(t *testing.T) {
	tests := []struct{ in, name, account string }{
		{"arn:aws:iam::111122223333:role/team/dev", "dev", "111122223333"},
		{"arn:aws:iam::aws:policy/service-role/AmazonEKS_CNI_Policy", "AmazonEKS_CNI_Policy", "aws"},
		{"arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy", "AmazonEKSAdminPolicy", "aws"},
		{"arn:aws-us-gov:iam::111122223333:user/alice", "alice", "111122223333"},
		{"arn:aws:sns:eu-west-1:111122223333:topic", "topic", "111122223333"},
		{"dev-team", "dev-team", ""},
	}
	for _, tt := range tests {
		if got := Name(tt.in); got != tt.name {
			t.Errorf("Name(%q) = %q, want %q", tt.in, got, tt.name)
		}
		if got := Account(tt.in); got != tt.account {
			t.Errorf("Account(%q) = %q, want %q", tt.in, got, tt.account)
		}
	}
}

func TestRoleARNAndSessions(t *testing.T) {
	if got := RoleARN("us-gov-west-1", "111122223333", "nodes"); got != "arn:aws-us-gov:iam::111122223333:role/nodes" {
		t.Errorf("RoleARN = %q", got)
	}
	for in, want := range map[string]string{
		"arn:aws:sts::111122223333:assumed-role/dev-team/alice":       "arn:aws:iam::111122223333:role/dev-team",
		"arn:aws-cn:sts::111122223333:assumed-role/ops/i-0abc/extra":  "arn:aws-cn:iam::111122223333:role/ops",
		"arn:aws:iam::111122223333:role/dev-team":                     "",
		"arn:aws:sts::111122223333:federated-user/bob":                "",
		"arn:aws:sts::111122223333:assumed-role/only-role-no-session": "",
		"not an arn": "",
	} {
		got, ok := RoleFromSession(in)
		if got != want || ok != (want != "") {
			t.Errorf("RoleFromSession(%q) = %q, %v, want %q", in, got, ok, want)
		}
	}
	if !IsIAMUser("arn:aws:iam::111122223333:user/alice") || IsIAMUser("arn:aws:iam::111122223333:role/alice") {
		t.Error("IsIAMUser tells users from roles")
	}
}

func TestMatches(t *testing.T) {
	patterns := []string{"arn:aws:iam::111122223333:role/platform-*", "arn:aws:iam::111122223333:user/ci"}
	tests := []struct {
		principal string
		want      bool
	}{
		{"arn:aws:iam::111122223333:role/platform-admins", true},
		{"arn:aws:sts::111122223333:assumed-role/platform-admins/alice", true},
		{"arn:aws:iam::111122223333:role/teams/platform-admins", true},
		{"arn:aws:iam::111122223333:user/build/ci", true},
		{"arn:aws:iam::111122223333:role/dev-team", false},
		{"arn:aws:sts::111122223333:assumed-role/dev-team/platform-admins", false},
		{"arn:aws:iam::444455556666:role/platform-admins", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := Matches(patterns, tt.principal); got != tt.want {
			t.Errorf("Matches(%q) = %v, want %v", tt.principal, got, tt.want)
		}
	}
	if Matches(nil, "arn:aws:iam::111122223333:role/platform-admins") {
		t.Error("no patterns match nothing")
	}
}
