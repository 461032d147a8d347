// Package identity is eksguard's one place for AWS identities: ARNs (parsed
// with the SDK's aws/arn), partitions, names, and whether a principal matches
// a pattern. Rules, policy, guard, notify and remediate all use it, so a
// session, a role with a path and a GovCloud ARN are read the same way
// everywhere.
package identity

import (
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/eksguard/eksguard/shared/glob"
)

// partitions maps region-name prefixes to partitions, most specific first:
// the region patterns of the SDK's partition metadata.
var partitions = []struct{ prefix, partition string }{
	{"us-gov-", "aws-us-gov"},
	{"us-isob-", "aws-iso-b"},
	{"us-isof-", "aws-iso-f"},
	{"us-iso-", "aws-iso"},
	{"eu-isoe-", "aws-iso-e"},
	{"eusc-", "aws-eusc"},
	{"cn-", "aws-cn"},
}

// Partition is the partition of a region ("aws" for the commercial regions
// and for an empty or unknown region).
func Partition(region string) string {
	for _, p := range partitions {
		if strings.HasPrefix(region, p.prefix) {
			return p.partition
		}
	}
	return "aws"
}

// Account is the account of an ARN, or "" when s is not an ARN or names none.
func Account(s string) string {
	a, err := arn.Parse(s)
	if err != nil {
		return ""
	}
	return a.AccountID
}

// Name is the last segment of an ARN's resource (a role, user or policy
// name without its path), or s itself when it is not an ARN.
func Name(s string) string {
	a, err := arn.Parse(s)
	if err != nil {
		return s
	}
	res := a.Resource
	if i := strings.LastIndexAny(res, "/:"); i >= 0 && i < len(res)-1 {
		return res[i+1:]
	}
	return res
}

// IsIAMUser reports whether s is the ARN of an IAM user.
func IsIAMUser(s string) bool {
	a, err := arn.Parse(s)
	return err == nil && a.Service == "iam" && strings.HasPrefix(a.Resource, "user/")
}

// RoleARN is the ARN of the role named roleName (IAM events carry only the
// name) in an account, in the partition of region.
func RoleARN(region, account, roleName string) string {
	return arn.ARN{Partition: Partition(region), Service: "iam", AccountID: account, Resource: "role/" + roleName}.String()
}

// RoleFromSession turns arn:PARTITION:sts::ACCOUNT:assumed-role/NAME/SESSION
// into arn:PARTITION:iam::ACCOUNT:role/NAME. A session ARN does not carry the
// role's path.
func RoleFromSession(s string) (string, bool) {
	a, err := arn.Parse(s)
	if err != nil || a.Service != "sts" {
		return "", false
	}
	parts := strings.Split(a.Resource, "/")
	if len(parts) < 3 || parts[0] != "assumed-role" || parts[1] == "" {
		return "", false
	}
	return arn.ARN{Partition: a.Partition, Service: "iam", AccountID: a.AccountID, Resource: "role/" + parts[1]}.String(), true
}

// WithoutPath drops the path of an IAM role or user ARN
// (arn:aws:iam::1:role/team/name becomes arn:aws:iam::1:role/name); ok is
// false when there is no path to drop.
func WithoutPath(s string) (string, bool) {
	a, err := arn.Parse(s)
	if err != nil || a.Service != "iam" {
		return "", false
	}
	kind, rest, found := strings.Cut(a.Resource, "/")
	if !found || (kind != "role" && kind != "user") {
		return "", false
	}
	i := strings.LastIndexByte(rest, '/')
	if i < 0 {
		return "", false
	}
	a.Resource = kind + "/" + rest[i+1:]
	return a.String(), true
}

// Matches reports whether a principal ARN matches any of the glob patterns:
// as it is, through the role an assumed-role session came from, and in its
// path-less form (a role with a path matches its path-less ARN).
func Matches(patterns []string, principal string) bool {
	if len(patterns) == 0 || principal == "" {
		return false
	}
	if glob.Any(patterns, principal) {
		return true
	}
	if role, ok := RoleFromSession(principal); ok && glob.Any(patterns, role) {
		return true
	}
	if short, ok := WithoutPath(principal); ok && glob.Any(patterns, short) {
		return true
	}
	return false
}
