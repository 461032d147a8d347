package rules

import (
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

// accessPolicyName returns NAME for arn:PARTITION:eks::aws:cluster-access-policy/NAME.
// It compares the whole ARN, so IAM policies of the same name do not match.
func accessPolicyName(s string) (string, bool) {
	a, err := arn.Parse(s)
	if err != nil || a.Service != "eks" || a.Region != "" || a.AccountID != "aws" {
		return "", false
	}
	name, found := strings.CutPrefix(a.Resource, "cluster-access-policy/")
	return name, found && name != "" && !strings.Contains(name, "/")
}

// managedPolicyName returns NAME for an AWS managed IAM policy
// arn:PARTITION:iam::aws:policy/[PATH/]NAME.
func managedPolicyName(s string) (string, bool) {
	a, err := arn.Parse(s)
	if err != nil || a.Service != "iam" || a.Region != "" || a.AccountID != "aws" || !strings.HasPrefix(a.Resource, "policy/") {
		return "", false
	}
	name := a.Resource[strings.LastIndexByte(a.Resource, '/')+1:]
	return name, name != ""
}
