// Command infra is eksguard's CDK app (cdk.json runs it): it reads the
// settings from context and environment, validates the policy, and
// synthesizes the stacks defined in infra/stack.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/eksguard/eksguard/infra/stack"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	cfg, err := stack.Resolve(stack.AppLookup(app, os.Getenv))
	if err == nil {
		_, err = stack.New(app, cfg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		jsii.Close()
		os.Exit(1)
	}
	app.Synth(nil)
}
