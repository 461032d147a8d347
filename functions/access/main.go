// Command access is the eksguard function for EKS access entries and access
// policy associations (families.Access): it assesses each CloudTrail event
// EventBridge routes to it, remediates per the policy and publishes the
// findings. See docs/remediation.md.
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
	g, err := guard.FromEnv(context.Background(), families.Access, log)
	if err != nil {
		log.Error("cannot start the access function", "error", err)
		os.Exit(1)
	}
	lambda.Start(g.HandleEvent)
}
