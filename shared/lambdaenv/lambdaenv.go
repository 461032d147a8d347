// Package lambdaenv builds a function's AWS configuration from what Lambda
// puts in its environment: the region, the execution role's credentials and,
// for tests and local runs, the SDK's endpoint variables (AWS_ENDPOINT_URL
// and AWS_ENDPOINT_URL_<SERVICE>, parsed by the SDK's own EnvConfig).
//
// It is what config.LoadDefaultConfig does in a Lambda, without the shared
// config files, SSO, web identity and instance metadata providers, which a
// function never uses and which cost each bootstrap about 1.4 MB.
package lambdaenv

import (
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Config reads AWS_REGION (or AWS_DEFAULT_REGION), AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, and the endpoint variables
// unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true. optFns change the
// result (the retryer, for example).
func Config(optFns ...func(*aws.Config)) (aws.Config, error) {
	env, err := awsconfig.NewEnvConfig()
	if err != nil {
		return aws.Config{}, fmt.Errorf("read the AWS environment: %w", err)
	}
	var errs []error
	if env.Region == "" {
		errs = append(errs, errors.New("AWS_REGION is not set"))
	}
	if !env.Credentials.HasKeys() {
		errs = append(errs, errors.New("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"))
	}
	if err := errors.Join(errs...); err != nil {
		return aws.Config{}, fmt.Errorf("read the AWS environment: %w", err)
	}
	cfg := aws.Config{
		Region:      env.Region,
		Credentials: aws.NewCredentialsCache(credentials.StaticCredentialsProvider{Value: env.Credentials}),
		// The service clients look up AWS_ENDPOINT_URL_<SERVICE> here.
		ConfigSources: []any{env},
	}
	if env.IgnoreConfiguredEndpoints == nil || !*env.IgnoreConfiguredEndpoints {
		cfg.BaseEndpoint = nonEmpty(env.BaseEndpoint)
	}
	for _, fn := range optFns {
		fn(&cfg)
	}
	return cfg, nil
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
