package awsfake

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

// Logs fakes the CloudWatch Logs calls eksguard makes (JSON 1.1,
// X-Amz-Target Logs_20140328.<Op>): CreateLogGroup, PutSubscriptionFilter,
// which needs the log group to exist and allows two filters per group, as
// the API reference says, and DescribeSubscriptionFilters (one page).
type Logs struct {
	server
	groups map[string][]SubscriptionFilter // log group -> its filters
}

// SubscriptionFilter is a filter PutSubscriptionFilter put on a log group.
type SubscriptionFilter struct {
	Name, Pattern, Destination string
}

// maxFiltersPerGroup is CloudWatch Logs' quota of subscription filters on
// one log group.
const maxFiltersPerGroup = 2

func newLogs(log *Log) *Logs {
	l := &Logs{groups: map[string][]SubscriptionFilter{}}
	l.server = server{service: "logs", log: log, opOf: jsonTarget, writeFn: func(w http.ResponseWriter, f Fault) {
		writeJSONError(w, "application/x-amz-json-1.1", "", f)
	}}
	l.handle = l.serveOp
	return l
}

// PutLogGroup creates a log group (as EKS does when it first delivers a
// cluster's control plane logs).
func (l *Logs) PutLogGroup(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.groups[name]; !ok {
		l.groups[name] = nil
	}
}

// Filters returns a log group's subscription filters, and whether it exists.
func (l *Logs) Filters(group string) ([]SubscriptionFilter, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fs, ok := l.groups[group]
	return slices.Clone(fs), ok
}

func (l *Logs) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.groups = map[string][]SubscriptionFilter{}
}

func (l *Logs) serveOp(w http.ResponseWriter, _ *http.Request, call *Call, body []byte) {
	const ct = "application/x-amz-json-1.1"
	var in struct {
		LogGroupName, FilterName, FilterPattern, DestinationArn, FilterNamePrefix string
	}
	_ = json.Unmarshal(body, &in)
	if in.LogGroupName == "" {
		writeJSONError(w, ct, "", Fault{Status: 400, Code: "InvalidParameterException", Message: "logGroupName is required"})
		return
	}
	fs, exists := l.groups[in.LogGroupName]
	switch call.Op {
	case "CreateLogGroup":
		if exists {
			writeJSONError(w, ct, "", Fault{Status: 400, Code: "ResourceAlreadyExistsException", Message: "The specified log group already exists"})
			return
		}
		l.groups[in.LogGroupName] = nil
	case "PutSubscriptionFilter":
		if !exists {
			writeJSONError(w, ct, "", Fault{Status: 400, Code: "ResourceNotFoundException", Message: "The specified log group does not exist."})
			return
		}
		if in.FilterName == "" || in.DestinationArn == "" {
			writeJSONError(w, ct, "", Fault{Status: 400, Code: "InvalidParameterException", Message: "filterName and destinationArn are required"})
			return
		}
		f := SubscriptionFilter{Name: in.FilterName, Pattern: in.FilterPattern, Destination: in.DestinationArn}
		if i := slices.IndexFunc(fs, func(x SubscriptionFilter) bool { return x.Name == in.FilterName }); i >= 0 {
			fs[i] = f // a put with the same name updates the filter
		} else if len(fs) >= maxFiltersPerGroup {
			writeJSONError(w, ct, "", Fault{Status: 400, Code: "LimitExceededException", Message: "Resource limit exceeded."})
			return
		} else {
			fs = append(fs, f)
		}
		l.groups[in.LogGroupName] = fs
	case "DescribeSubscriptionFilters":
		if !exists {
			writeJSONError(w, ct, "", Fault{Status: 400, Code: "ResourceNotFoundException", Message: "The specified log group does not exist."})
			return
		}
		out := []map[string]any{}
		for _, f := range fs {
			if strings.HasPrefix(f.Name, in.FilterNamePrefix) {
				out = append(out, map[string]any{"filterName": f.Name, "logGroupName": in.LogGroupName, "filterPattern": f.Pattern,
					"destinationArn": f.Destination, "distribution": "ByLogStream", "creationTime": 1746523263439})
			}
		}
		writeJSON(w, ct, 200, map[string]any{"subscriptionFilters": out})
		return
	default:
		writeJSONError(w, ct, "", Fault{Status: 400, Code: "InvalidAction", Message: "awsfake: unsupported CloudWatch Logs action " + call.Op})
		return
	}
	writeJSON(w, ct, 200, map[string]any{})
}

// logsModel authorizes against the log group's ARN, the resource the
// Service Authorization Reference names for the three calls.
var logsModel = iamModel{
	prefix: "logs",
	denied: Fault{Status: http.StatusBadRequest, Code: "AccessDeniedException"},
	badKey: Fault{Status: http.StatusBadRequest, Code: "UnrecognizedClientException"},
	target: func(_ *http.Request, body []byte, op string, s scope) (string, map[string][]string, bool) {
		if op != "CreateLogGroup" && op != "PutSubscriptionFilter" && op != "DescribeSubscriptionFilters" {
			return "", nil, false
		}
		name := jsonField(body, "logGroupName")
		return s.arn("logs", "log-group:"+strings.TrimSpace(name)), nil, true
	},
}
