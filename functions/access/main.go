// Command access is the eksguard function for EKS access entries and access
// policy associations (families.Access): it assesses each CloudTrail event
// EventBridge routes to it, remediates per the policy and publishes the
// findings. See docs/remediation.md.
package main

import (
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/guard"
)

func main() { guard.Main(families.Access) }
