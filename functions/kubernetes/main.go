// Command kubernetes is the eksguard function for the clusters' Kubernetes
// audit logs (families.Kubernetes): CloudWatch Logs subscription filters on
// /aws/eks/<cluster>/cluster invoke it with the audit events the rules read
// (aws-auth, RBAC bindings, impersonation); it assesses them with the same
// policy and publishes the findings through the same topic as the other
// functions. It changes nothing: eksguard holds no Kubernetes credentials.
package main

import (
	"github.com/eksguard/eksguard/shared/guard"
)

func main() { guard.MainLogs() }
