// Package awsfake runs local httptest fakes of the AWS services eksguard
// calls (EKS, IAM, DynamoDB, SQS, SSM, SNS, CloudTrail), for tests that drive the real
// aws-sdk-go-v2 clients. Every fake keeps just enough state to answer the
// calls eksguard makes, records each request it receives (service,
// operation, method, raw path, body) in one shared, ordered Log, and can be
// told to fail an operation with an AWS error a given number of times.
// Secrets Manager is faked too, for the notifier's webhook secret. Once
// told to (World.Enforce), the fakes authorize every call as IAM would,
// against the identity policy of the principal whose access key signed it
// (authz.go, iampolicy.go). A World can be Reset, so that long-lived processes pointed at its fakes (functions
// under the Lambda runtime emulator) see a fresh account per scenario.
package awsfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Call is one request a fake received.
type Call struct {
	Service string // eks, iam, dynamodb, sqs, ssm, sns, secretsmanager, cloudtrail
	Op      string // the API operation, e.g. DescribeAccessEntry
	Method  string
	Path    string // as sent, still URL-encoded
	Body    string
	// Caller is the role ARN of the principal that signed the call, once
	// the World enforces IAM (World.Enforce).
	Caller string
	// AccessKey and Region are those of the request's SigV4 credential
	// scope ("" when unsigned).
	AccessKey, Region string
	// Denied is true when the call was refused by IAM.
	Denied bool
}

// String renders the call as "service Op METHOD path".
func (c Call) String() string {
	return c.Service + " " + c.Op + " " + c.Method + " " + c.Path
}

// JSON decodes the call's body into v, failing the test if it is not JSON.
func (c Call) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(c.Body), v); err != nil {
		t.Fatalf("%s: body is not JSON: %v\n%s", c, err, c.Body)
	}
}

// Log is the ordered record of every request the fakes of one World received.
type Log struct {
	mu    sync.Mutex
	calls []Call
}

func (l *Log) add(c Call) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, c)
}

// Calls returns a copy of every call so far.
func (l *Log) Calls() []Call {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Call(nil), l.calls...)
}

// Reset forgets the calls so far.
func (l *Log) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = nil
}

// Ops lists the calls as "service:Op", optionally only those of some services.
func (l *Log) Ops(services ...string) []string {
	var out []string
	for _, c := range l.Calls() {
		if len(services) == 0 || contains(services, c.Service) {
			out = append(out, c.Service+":"+c.Op)
		}
	}
	return out
}

// Of returns the calls to one service.
func (l *Log) Of(service string) []Call {
	var out []Call
	for _, c := range l.Calls() {
		if c.Service == service {
			out = append(out, c)
		}
	}
	return out
}

// Fault is an AWS error a fake returns instead of handling a request.
type Fault struct {
	Status  int    // HTTP status, e.g. 400
	Code    string // AWS error code, e.g. ResourceInUseException
	Message string
}

// faults holds the queued faults of one fake, per operation.
type faults struct {
	mu sync.Mutex
	q  map[string][]Fault
}

func (f *faults) add(op string, times int, fault Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.q == nil {
		f.q = map[string][]Fault{}
	}
	if fault.Message == "" {
		fault.Message = fault.Code + " (injected by awsfake)"
	}
	for range times {
		f.q[op] = append(f.q[op], fault)
	}
}

func (f *faults) clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.q = nil
}

func (f *faults) next(op string) (Fault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := f.q[op]
	if len(q) == 0 {
		return Fault{}, false
	}
	f.q[op] = q[1:]
	return q[0], true
}

// World is one set of fakes sharing a Log.
type World struct {
	Log      *Log
	EKS      *EKS
	IAM      *IAM
	DynamoDB *DynamoDB
	SQS      *SQS
	SSM      *SSM
	SNS      *SNS
	// CloudTrail serves trail status and StartLogging.
	CloudTrail *CloudTrail
	// SecretsManager serves secret strings (GetSecretValue).
	SecretsManager *SecretsManager
	// SecurityHub serves BatchImportFindings.
	SecurityHub *SecurityHub
	// Logs serves CloudWatch Logs groups and subscription filters.
	Logs *Logs
	auth *authorizer
}

// New starts every fake; they stop when the test ends.
func New(t testing.TB) *World {
	t.Helper()
	log := &Log{}
	w := &World{
		Log:            log,
		EKS:            newEKS(log),
		IAM:            newIAM(log),
		DynamoDB:       newDynamoDB(log),
		SQS:            newSQS(log),
		SSM:            newSSM(log),
		SNS:            newSNS(log),
		SecretsManager: newSecretsManager(log),
		CloudTrail:     newCloudTrail(log),
		SecurityHub:    newSecurityHub(log),
		Logs:           newLogs(log),
	}
	w.auth = &authorizer{}
	models := map[string]iamModel{"eks": eksModel, "iam": iamServiceModel, "dynamodb": dynamoDBModel, "sqs": sqsModel,
		"ssm": ssmModel, "sns": snsModel, "secretsmanager": secretsManagerModel, "cloudtrail": cloudTrailModel,
		"securityhub": securityHubModel, "logs": logsModel}
	for _, s := range w.servers() {
		s.auth, s.iam = w.auth, models[s.service]
		s.start(t)
	}
	return w
}

func (w *World) servers() []*server {
	return []*server{&w.EKS.server, &w.IAM.server, &w.DynamoDB.server, &w.SQS.server, &w.SSM.server, &w.SNS.server, &w.SecretsManager.server, &w.CloudTrail.server, &w.SecurityHub.server, &w.Logs.server}
}

// Reset forgets the state of every fake (clusters, roles, items, messages,
// parameters, secrets), their queued faults and the Log; the fakes keep
// their URLs, and the principals and decisions of Enforce.
func (w *World) Reset() {
	for _, s := range w.servers() {
		s.faults.clear()
	}
	w.EKS.reset()
	w.IAM.reset()
	w.DynamoDB.reset()
	w.SQS.reset()
	w.SSM.reset()
	w.SNS.reset()
	w.SecretsManager.reset()
	w.CloudTrail.reset()
	w.SecurityHub.reset()
	w.Logs.reset()
	w.Log.Reset()
}

// Env maps the AWS_ENDPOINT_URL_<SERVICE> variables that point the SDK's
// default configuration at the fakes, with static credentials and a region.
func (w *World) Env() map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL_EKS":             w.EKS.URL,
		"AWS_ENDPOINT_URL_IAM":             w.IAM.URL,
		"AWS_ENDPOINT_URL_DYNAMODB":        w.DynamoDB.URL,
		"AWS_ENDPOINT_URL_SQS":             w.SQS.URL,
		"AWS_ENDPOINT_URL_SSM":             w.SSM.URL,
		"AWS_ENDPOINT_URL_SNS":             w.SNS.URL,
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": w.SecretsManager.URL,
		"AWS_ENDPOINT_URL_CLOUDTRAIL":      w.CloudTrail.URL,
		"AWS_ENDPOINT_URL_SECURITYHUB":     w.SecurityHub.URL,
		"AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": w.Logs.URL,
		"AWS_ACCESS_KEY_ID":                "AKIDFAKE",
		"AWS_SECRET_ACCESS_KEY":            "fake-secret",
		"AWS_REGION":                       "eu-west-1",
		"AWS_EC2_METADATA_DISABLED":        "true",
		"AWS_CONFIG_FILE":                  "/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE":      "/dev/null",
	}
}

// Config is an aws.Config with static credentials, the given region and a
// bounded standard retryer without backoff delays, so tests of retries are
// fast. Point each client at its fake with BaseEndpoint.
func Config(region string) aws.Config {
	return aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDFAKE", "fake-secret", ""),
		Retryer:     FastRetryer,
	}
}

// FastRetryer is the SDK's standard retryer, bounded to 3 attempts, with no
// backoff delay and no retry quota, for tests.
func FastRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 3
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		o.RateLimiter = ratelimit.None
	})
}

// server is the part every fake shares: the httptest server, the call log and the faults.
type server struct {
	URL     string
	service string
	log     *Log
	faults  faults
	handle  func(w http.ResponseWriter, r *http.Request, c *Call, body []byte)
	opOf    func(r *http.Request, body []byte) string
	writeFn func(w http.ResponseWriter, f Fault)
	auth    *authorizer
	iam     iamModel
	mu      sync.Mutex // guards the fake's state
	srv     *httptest.Server
}

func (s *server) start(t testing.TB) {
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
}

// Fail makes the next `times` calls of the operation fail with the fault.
func (s *server) Fail(op string, times int, f Fault) { s.faults.add(op, times, f) }

func (s *server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	path := r.RequestURI
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	c := Call{Service: s.service, Op: s.opOf(r, body), Method: r.Method, Path: path, Body: string(body)}
	c.AccessKey, c.Region, _ = signer(r)
	allowed := s.authorize(w, r, body, &c)
	s.log.add(c)
	if !allowed {
		return
	}
	if f, ok := s.faults.next(c.Op); ok {
		s.writeFn(w, f)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handle(w, r, &c, body)
}

func readBody(r *http.Request) ([]byte, error) {
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	return b, nil
}

func writeJSON(w http.ResponseWriter, contentType string, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
