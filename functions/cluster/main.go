// Command cluster is the eksguard function for EKS cluster settings
// (families.Cluster): it assesses each CloudTrail event, remediates per the
// policy and publishes the findings. It also consumes the defer queue
// (EKSGUARD_DEFER_QUEUE_URL): fixes that met a running cluster update come
// back as SQS batches, answered with a partial batch response. See
// docs/remediation.md.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/eksguard/eksguard/shared/families"
	"github.com/eksguard/eksguard/shared/guard"
)

func main() {
	log := lambdacontext.NewLogger()
	g, err := guard.FromEnv(context.Background(), families.Cluster, log)
	if err != nil {
		log.Error("cannot start the cluster function", "error", err)
		os.Exit(1)
	}
	lambda.Start(g.Handle)
}
