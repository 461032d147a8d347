// Package e2e holds the end-to-end test of a deployment on one machine
// (`make e2e`, build tag e2e): the stack is synthesized with `cdk synth`,
// the function binaries it packages (the linux/arm64 bootstraps of
// `make build`) run under the AWS Lambda Runtime Interface Emulator, and
// AWS is a set of local fakes (internal/testsupport/awsfake) reached through the SDK's
// AWS_ENDPOINT_URL_<SERVICE> variables. Events reach the functions the way
// the synthesized EventBridge rules, SNS subscription and SQS event source
// mapping would route them. See docs/e2e.md.
package e2e
