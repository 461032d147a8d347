// Command iam is the eksguard function for IAM changes to EKS cluster and
// node roles (families.IAM): it assesses each CloudTrail event, telling
// cluster and node roles apart through EKS where the policy's role patterns
// do not, remediates per the policy and publishes the findings. See
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
	g, err := guard.FromEnv(context.Background(), families.IAM, log)
	if err != nil {
		log.Error("cannot start the iam function", "error", err)
		os.Exit(1)
	}
	lambda.Start(g.HandleEvent)
}
