// Command iam is the eksguard function for IAM changes to EKS cluster and
// node roles (families.IAM): it assesses each CloudTrail event, telling
// cluster and node roles apart through EKS where the policy's role patterns
// do not, remediates per the policy and publishes the findings. See
// docs/remediation.md.
package main

import (
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/guard"
)

func main() { guard.Main(families.IAM) }
