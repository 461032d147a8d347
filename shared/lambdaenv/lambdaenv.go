// Package lambdaenv builds a function's AWS configuration from what Lambda
// puts in its environment: the region and the execution role's credentials,
// and, for tests and local runs, the SDK's endpoint variables
// (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>,
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS).
//
// It is what config.LoadDefaultConfig resolves inside a Lambda, without
// importing the config package: that import alone runs the initialisation
// of the SSO, SSO OIDC, STS and sign-in clients' schemas, which a function
// never uses, and costs each bootstrap 0.46 MB (BENCHMARKS.md).
package lambdaenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Config reads AWS_REGION (or AWS_DEFAULT_REGION), AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, and the endpoint variables.
// optFns change the result (the retryer, for example).
func Config(optFns ...func(*aws.Config)) (aws.Config, error) {
	env, err := read(os.Getenv)
	if err != nil {
		return aws.Config{}, fmt.Errorf("read the AWS environment: %w", err)
	}
	cfg := aws.Config{
		Region: env.region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(
			env.accessKeyID, env.secretAccessKey, env.sessionToken)),
		// The service clients look up AWS_ENDPOINT_URL_<SERVICE> through this.
		ConfigSources: []any{env},
	}
	if env.baseEndpoint != "" && !env.ignoreEndpoints {
		cfg.BaseEndpoint = aws.String(env.baseEndpoint)
	}
	for _, fn := range optFns {
		fn(&cfg)
	}
	return cfg, nil
}

// environment is what Config reads. As a configuration source it answers
// the service clients' questions about endpoints, the way the SDK's own
// EnvConfig does.
type environment struct {
	getenv                                     func(string) string
	region                                     string
	accessKeyID, secretAccessKey, sessionToken string
	baseEndpoint                               string
	ignoreEndpoints                            bool
}

func read(getenv func(string) string) (*environment, error) {
	env := &environment{
		getenv:          getenv,
		region:          first(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION")),
		accessKeyID:     getenv("AWS_ACCESS_KEY_ID"),
		secretAccessKey: getenv("AWS_SECRET_ACCESS_KEY"),
		sessionToken:    getenv("AWS_SESSION_TOKEN"),
		baseEndpoint:    getenv("AWS_ENDPOINT_URL"),
	}
	var errs []error
	if env.region == "" {
		errs = append(errs, errors.New("AWS_REGION is not set"))
	}
	if env.accessKeyID == "" || env.secretAccessKey == "" {
		errs = append(errs, errors.New("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"))
	}
	if v := getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=%q: want true or false", v))
		}
		env.ignoreEndpoints = b
	}
	return env, errors.Join(errs...)
}

// GetServiceBaseEndpoint is AWS_ENDPOINT_URL_<SERVICE>, the service's SDK ID
// in upper case with spaces as underscores (DYNAMODB, SECRETS_MANAGER).
func (e *environment) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	if e.ignoreEndpoints {
		return "", false, nil
	}
	v := e.getenv("AWS_ENDPOINT_URL_" + strings.ToUpper(strings.ReplaceAll(sdkID, " ", "_")))
	return v, v != "", nil
}

// GetIgnoreConfiguredEndpoints is AWS_IGNORE_CONFIGURED_ENDPOINT_URLS.
func (e *environment) GetIgnoreConfiguredEndpoints(context.Context) (bool, bool, error) {
	return e.ignoreEndpoints, true, nil
}

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
