package rules

import "strings"

// arnParts splits an ARN into partition, service, region, account and resource.
func arnParts(arn string) (partition, service, region, account, resource string, ok bool) {
	p := strings.SplitN(arn, ":", 6)
	if len(p) != 6 || p[0] != "arn" {
		return "", "", "", "", "", false
	}
	return p[1], p[2], p[3], p[4], p[5], true
}

// accountOf returns the account of an ARN, or "".
func accountOf(arn string) string {
	_, _, _, acct, _, ok := arnParts(arn)
	if !ok {
		return ""
	}
	return acct
}

// isIAMUser reports whether the ARN names an IAM user.
func isIAMUser(arn string) bool {
	_, svc, _, _, res, ok := arnParts(arn)
	return ok && svc == "iam" && strings.HasPrefix(res, "user/")
}

// accessPolicyName returns NAME for arn:PARTITION:eks::aws:cluster-access-policy/NAME.
// It compares the whole ARN, so IAM policies of the same name do not match.
func accessPolicyName(arn string) (string, bool) {
	_, svc, region, acct, res, ok := arnParts(arn)
	if !ok || svc != "eks" || region != "" || acct != "aws" {
		return "", false
	}
	name, found := strings.CutPrefix(res, "cluster-access-policy/")
	return name, found && name != "" && !strings.Contains(name, "/")
}

// managedPolicyName returns NAME for an AWS managed IAM policy
// arn:PARTITION:iam::aws:policy/[PATH/]NAME.
func managedPolicyName(arn string) (string, bool) {
	_, svc, region, acct, res, ok := arnParts(arn)
	if !ok || svc != "iam" || region != "" || acct != "aws" || !strings.HasPrefix(res, "policy/") {
		return "", false
	}
	name := res[strings.LastIndexByte(res, '/')+1:]
	return name, name != ""
}

// partitionOf guesses the partition from a region name.
func partitionOf(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// roleARN builds the ARN of a role named in an IAM event (IAM events carry
// only the role name).
func roleARN(region, account, roleName string) string {
	return "arn:" + partitionOf(region) + ":iam::" + account + ":role/" + roleName
}

// shortName is the last path segment of an ARN, for summaries.
func shortName(arn string) string {
	if i := strings.LastIndexByte(arn, '/'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}
