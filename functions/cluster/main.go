// Command cluster is the eksguard function for EKS cluster settings
// (families.Cluster): it assesses each CloudTrail event, remediates per the
// policy and publishes the findings. It also consumes the defer queue
// (EKSGUARD_DEFER_QUEUE_URL): fixes that met a running cluster update come
// back as SQS batches, answered with a partial batch response. See
// docs/remediation.md. When an event turns a cluster's audit log on, it
// subscribes the kubernetes function to the cluster's log group
// (shared/auditsub).
package main

import (
	"github.com/eksguard/eksguard/shared/auditsub"
	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/guard"
)

func main() { guard.Main(families.Cluster, auditsub.With) }
