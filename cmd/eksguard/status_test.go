package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/eksguard/eksguard/internal/testsupport/awsfake"
	"github.com/eksguard/eksguard/shared/heartbeat"
)

// statusFake serves the calls of `eksguard status` that awsfake does not:
// CloudTrail and EventBridge (JSON 1.1, X-Amz-Target CloudTrail_20131101.<Op>
// and AWSEvents.<Op>) and Lambda (REST-JSON: GET /2015-03-31/functions with
// Marker paging, GET /2019-09-30/functions/{FunctionName}/concurrency), in
// the shapes of the API references; small pages, so paging is exercised.
type statusFake struct {
	mu sync.Mutex
	// trails by name: the trail list entry, its status and its selectors.
	trails    []map[string]any
	logging   map[string]bool
	selectors map[string]map[string]any
	rules     []map[string]any
	functions []map[string]any
	// concurrency by function name; absent: none reserved.
	concurrency map[string]int
}

const (
	testAccount = "111122223333"
	testRegion  = "eu-west-1"
)

func newStatusFake() *statusFake {
	f := &statusFake{logging: map[string]bool{}, selectors: map[string]map[string]any{}, concurrency: map[string]int{}}
	arn := "arn:aws:cloudtrail:" + testRegion + ":" + testAccount + ":trail/management-events"
	f.trails = []map[string]any{{"Name": "management-events", "TrailARN": arn, "IsMultiRegionTrail": true, "HomeRegion": testRegion, "IncludeGlobalServiceEvents": true}}
	f.logging["management-events"] = true
	f.selectors["management-events"] = map[string]any{"TrailARN": arn, "EventSelectors": []any{map[string]any{"ReadWriteType": "All", "IncludeManagementEvents": true}}}
	for _, name := range []string{"Access", "Cluster", "Iam", "Tamper"} {
		n := "eksguard-" + name + "Rule1A2B3C4D-" + strings.ToUpper(name) + "XYZ"
		f.rules = append(f.rules, map[string]any{"Name": n, "Arn": "arn:aws:events:" + testRegion + ":" + testAccount + ":rule/" + n, "State": "ENABLED", "EventBusName": "default"})
	}
	f.rules = append(f.rules, map[string]any{"Name": "eksguard-forwarded", "Arn": "arn:aws:events:" + testRegion + ":" + testAccount + ":rule/eksguard-forwarded", "State": "DISABLED"})
	f.functions = append(f.functions, map[string]any{"FunctionName": "billing-report", "Environment": map[string]any{"Variables": map[string]any{}}})
	for _, name := range []string{"Access", "Cluster", "Iam", "Tamper", "Kubernetes", "Notifier"} {
		n := "eksguard-" + name + "Function9C8D7E6F-" + strings.ToUpper(name)
		vars := map[string]any{"EKSGUARD_TABLE": "eksguard-State-1", "EKSGUARD_KILL_SWITCH_PARAMETER": "/eksguard/remediation"}
		if name == "Kubernetes" { // it has no fix to switch off
			delete(vars, "EKSGUARD_KILL_SWITCH_PARAMETER")
		}
		if name == "Tamper" {
			vars["EKSGUARD_CANARY_ROLE_ARN"] = "arn:aws:iam::" + testAccount + ":role/eksguard-CanaryRole-1"
		}
		f.functions = append(f.functions, map[string]any{"FunctionName": n, "FunctionArn": "arn:aws:lambda:" + testRegion + ":" + testAccount + ":function:" + n,
			"Environment": map[string]any{"Variables": vars}})
		f.concurrency[n] = 5
	}
	return f
}

func jsonError(w http.ResponseWriter, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(400)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

func reply(w http.ResponseWriter, contentType string, v any) {
	w.Header().Set("Content-Type", contentType)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *statusFake) cloudTrail(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var in map[string]any
	_ = json.NewDecoder(r.Body).Decode(&in)
	const ct = "application/x-amz-json-1.1"
	name := func(key string) string {
		s, _ := in[key].(string)
		return s[strings.LastIndex(s, "/")+1:]
	}
	switch strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "CloudTrail_20131101.") {
	case "DescribeTrails":
		reply(w, ct, map[string]any{"trailList": f.trails})
	case "GetTrailStatus":
		logging, ok := f.logging[name("Name")]
		if !ok {
			jsonError(w, "TrailNotFoundException", "Unknown trail")
			return
		}
		reply(w, ct, map[string]any{"IsLogging": logging})
	case "GetEventSelectors":
		sel, ok := f.selectors[name("TrailName")]
		if !ok {
			jsonError(w, "TrailNotFoundException", "Unknown trail")
			return
		}
		reply(w, ct, sel)
	default:
		jsonError(w, "UnknownOperationException", r.Header.Get("X-Amz-Target"))
	}
}

func (f *statusFake) eventBridge(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get("X-Amz-Target") != "AWSEvents.ListRules" {
		jsonError(w, "UnknownOperationException", r.Header.Get("X-Amz-Target"))
		return
	}
	var in struct{ NamePrefix, NextToken string }
	_ = json.NewDecoder(r.Body).Decode(&in)
	var match []map[string]any
	for _, rule := range f.rules {
		if strings.HasPrefix(rule["Name"].(string), in.NamePrefix) {
			match = append(match, rule)
		}
	}
	start := 0
	if in.NextToken != "" {
		start = int(in.NextToken[0] - '0')
	}
	end := min(start+2, len(match))
	out := map[string]any{"Rules": match[start:end]}
	if end < len(match) {
		out["NextToken"] = string(rune('0' + end))
	}
	reply(w, "application/x-amz-json-1.1", out)
}

func (f *statusFake) lambda(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	const ct = "application/json"
	notFound := func(what string) {
		w.Header().Set("Content-Type", ct)
		w.Header().Set("X-Amzn-Errortype", "ResourceNotFoundException")
		w.WriteHeader(404)
		_ = json.NewEncoder(w).Encode(map[string]string{"Type": "User", "message": "Function not found: " + what})
	}
	switch p := r.URL.Path; {
	case r.Method == http.MethodGet && strings.TrimSuffix(p, "/") == "/2015-03-31/functions":
		start := 0
		if m := r.URL.Query().Get("Marker"); m != "" {
			start = int(m[0] - '0')
		}
		end := min(start+3, len(f.functions))
		out := map[string]any{"Functions": f.functions[start:end]}
		if end < len(f.functions) {
			out["NextMarker"] = string(rune('0' + end))
		}
		reply(w, ct, out)
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/2019-09-30/functions/") && strings.HasSuffix(p, "/concurrency"):
		name := strings.TrimSuffix(strings.TrimPrefix(p, "/2019-09-30/functions/"), "/concurrency")
		n, ok := f.concurrency[name]
		known := false
		for _, fn := range f.functions {
			known = known || fn["FunctionName"] == name
		}
		switch {
		case !known:
			notFound(name)
		case ok:
			reply(w, ct, map[string]any{"ReservedConcurrentExecutions": n})
		default:
			reply(w, ct, map[string]any{})
		}
	default:
		notFound(p)
	}
}

// statusWorld starts the fakes and points the SDK's default configuration
// at them.
func statusWorld(t *testing.T) (*statusFake, *awsfake.World) {
	f := newStatusFake()
	w := awsfake.New(t)
	for env, h := range map[string]http.HandlerFunc{"CLOUDTRAIL": f.cloudTrail, "EVENTBRIDGE": f.eventBridge, "LAMBDA": f.lambda} {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		t.Setenv("AWS_ENDPOINT_URL_"+env, srv.URL)
	}
	for k, v := range w.Env() {
		if k != "AWS_ENDPOINT_URL_CLOUDTRAIL" {
			t.Setenv(k, v)
		}
	}
	t.Setenv("AWS_REGION", testRegion)
	w.SSM.Set("/eksguard/remediation", "on")
	return f, w
}

var statusNow = time.Date(2026, 12, 2, 2, 0, 0, 0, time.UTC)

func recordBeat(t *testing.T, w *awsfake.World, heard time.Time) {
	t.Helper()
	db := dynamodb.NewFromConfig(awsfake.Config(testRegion), func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(w.DynamoDB.URL) })
	rec := &heartbeat.Recorder{DB: db, Table: "eksguard-State-1", Now: func() time.Time { return heard.Add(3 * time.Minute) }}
	if err := rec.Record(context.Background(), heartbeat.Beat{Account: testAccount, Region: testRegion, Heard: heard, EventID: "beat"}); err != nil {
		t.Fatal(err)
	}
}

func runStatus(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := statusCmd(context.Background(), args, &out, &errOut, func() time.Time { return statusNow })
	t.Logf("eksguard status %s (exit %d):\n%s%s", strings.Join(args, " "), code, out.String(), errOut.String())
	return code, out.String()
}

func lineOf(out, what string) string {
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && strings.HasPrefix(strings.Join(f[1:], " "), what+" ") {
			return strings.Join(f, " ")
		}
	}
	return ""
}

func TestStatusAllWatching(t *testing.T) {
	_, w := statusWorld(t)
	recordBeat(t, w, statusNow.Add(-12*time.Minute))
	code, out := runStatus(t)
	if code != 0 {
		t.Fatalf("exit %d, want 0:\n%s", code, out)
	}
	for what, want := range map[string]string{
		"trail":       "ok trail management-events: logging, multi-region, management writes",
		"rules":       "ok rules 4 of 4 enabled",
		"functions":   "ok functions 6 of 6 deployed, all may run",
		"heartbeat":   "ok heartbeat eksguard heard from CloudTrail 12m0s ago in account 111122223333 region eu-west-1",
		"kill switch": "ok kill switch /eksguard/remediation = on: remediation allowed where the policy says remediate",
	} {
		if got := lineOf(out, what); got != want {
			t.Errorf("%s line: got %q, want %q", what, got, want)
		}
	}
	if !strings.Contains(out, "eksguard is watching account 111122223333 region eu-west-1\n") {
		t.Errorf("no verdict line:\n%s", out)
	}
}

// Each way of going blind turns its line OFF and the exit code to 1; the
// kill switch turned off is shown but is not blindness.
func TestStatusSomethingOff(t *testing.T) {
	for _, c := range []struct {
		name   string
		break_ func(f *statusFake, w *awsfake.World)
		what   string
		want   string
		code   int
	}{
		{"trail stopped", func(f *statusFake, _ *awsfake.World) { f.logging["management-events"] = false }, "trail",
			"OFF trail management-events: not logging", 1},
		{"read-only selectors", func(f *statusFake, _ *awsfake.World) {
			f.selectors["management-events"]["EventSelectors"] = []any{map[string]any{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": true}}
		}, "trail", "OFF trail management-events: management write events not selected", 1},
		{"advanced selectors without management", func(f *statusFake, _ *awsfake.World) {
			f.selectors["management-events"] = map[string]any{"AdvancedEventSelectors": []any{map[string]any{"Name": "data",
				"FieldSelectors": []any{map[string]any{"Field": "eventCategory", "Equals": []any{"Data"}}}}}}
		}, "trail", "OFF trail management-events: management write events not selected", 1},
		{"no trail", func(f *statusFake, _ *awsfake.World) { f.trails = nil }, "trail", "OFF trail no trail records this region", 1},
		{"rule disabled", func(f *statusFake, _ *awsfake.World) { f.rules[3]["State"] = "DISABLED" }, "rules",
			"OFF rules eksguard-TamperRule1A2B3C4D-TAMPERXYZ DISABLED", 1},
		{"rule deleted", func(f *statusFake, _ *awsfake.World) { f.rules = f.rules[1:] }, "rules", "OFF rules no rule for access", 1},
		{"concurrency zero", func(f *statusFake, _ *awsfake.World) { f.concurrency["eksguard-TamperFunction9C8D7E6F-TAMPER"] = 0 }, "functions",
			"OFF functions tamper: reserved concurrency 0, it does not run", 1},
		{"function deleted", func(f *statusFake, _ *awsfake.World) { f.functions = f.functions[:len(f.functions)-1] }, "functions",
			"OFF functions notifier not deployed", 1},
		{"heartbeat late", func(_ *statusFake, w *awsfake.World) { recordBeat(t, w, statusNow.Add(-31*time.Minute)) }, "heartbeat",
			"OFF heartbeat eksguard has not heard from CloudTrail in 30 minutes in account 111122223333 region eu-west-1 (last heartbeat 2026-12-02T01:29:00Z)", 1},
		{"heartbeat never", func(*statusFake, *awsfake.World) {}, "heartbeat",
			"OFF heartbeat eksguard has never heard from CloudTrail in account 111122223333 region eu-west-1", 1},
		{"kill switch deleted", func(_ *statusFake, w *awsfake.World) {
			w.Reset() // every parameter gone
			recordBeat(t, w, statusNow.Add(-time.Minute))
		}, "kill switch", "OFF kill switch cannot read /eksguard/remediation (remediation is held back):", 1},
		{"kill switch off", func(_ *statusFake, w *awsfake.World) {
			recordBeat(t, w, statusNow.Add(-time.Minute))
			w.SSM.Set("/eksguard/remediation", "off")
		}, "kill switch", "ok kill switch /eksguard/remediation = off: remediation switched off, findings only", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, w := statusWorld(t)
			if c.name != "heartbeat never" && c.name != "heartbeat late" && !strings.HasPrefix(c.name, "kill switch") {
				recordBeat(t, w, statusNow.Add(-5*time.Minute))
			}
			c.break_(f, w)
			code, out := runStatus(t)
			if code != c.code {
				t.Errorf("exit %d, want %d:\n%s", code, c.code, out)
			}
			if got := lineOf(out, c.what); !strings.HasPrefix(got, c.want) {
				t.Errorf("%s line: got %q, want %q", c.what, got, c.want)
			}
			verdict := "eksguard is watching"
			if c.code != 0 {
				verdict = "eksguard is NOT watching account 111122223333 region eu-west-1: " + c.what
			}
			if !strings.Contains(out, verdict) {
				t.Errorf("no verdict %q:\n%s", verdict, out)
			}
		})
	}
}

func TestStatusUsage(t *testing.T) {
	statusWorld(t)
	if code, _ := runStatus(t, "extra"); code != 2 {
		t.Errorf("exit %d for an extra argument, want 2", code)
	}
	if code, _ := runStatus(t, "--window", "soon"); code != 2 {
		t.Errorf("exit %d for a bad --window, want 2", code)
	}
}
