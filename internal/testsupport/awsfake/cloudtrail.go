package awsfake

import (
	"encoding/json"
	"net/http"
	"strings"
)

// CloudTrail fakes the trail calls of the CloudTrail API (JSON 1.1,
// X-Amz-Target CloudTrail_20131101.<Op>): GetTrailStatus and StartLogging.
// A trail is named by its name or its ARN, as the API allows.
type CloudTrail struct {
	server
	trails map[string]bool // trail name -> logging
}

func newCloudTrail(log *Log) *CloudTrail {
	c := &CloudTrail{trails: map[string]bool{}}
	c.server = server{service: "cloudtrail", log: log, opOf: jsonTarget, writeFn: func(w http.ResponseWriter, f Fault) {
		writeJSONError(w, "application/x-amz-json-1.1", "", f)
	}}
	c.handle = c.serveOp
	return c
}

// PutTrail creates or changes a trail, logging or not.
func (c *CloudTrail) PutTrail(name string, logging bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.trails[trailName(name)] = logging
}

// Logging reports whether the trail exists and logs.
func (c *CloudTrail) Logging(name string) (logging, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	logging, ok = c.trails[trailName(name)]
	return logging, ok
}

func (c *CloudTrail) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.trails = map[string]bool{}
}

func trailName(nameOrARN string) string {
	if i := strings.Index(nameOrARN, ":trail/"); i >= 0 {
		return nameOrARN[i+len(":trail/"):]
	}
	return nameOrARN
}

func (c *CloudTrail) serveOp(w http.ResponseWriter, _ *http.Request, call *Call, body []byte) {
	const ct = "application/x-amz-json-1.1"
	var in struct{ Name string }
	_ = json.Unmarshal(body, &in)
	if call.Op != "GetTrailStatus" && call.Op != "StartLogging" {
		writeJSONError(w, ct, "", Fault{Status: 400, Code: "InvalidAction", Message: "awsfake: unsupported CloudTrail action " + call.Op})
		return
	}
	if in.Name == "" {
		writeJSONError(w, ct, "", Fault{Status: 400, Code: "InvalidTrailNameException", Message: "Name is required"})
		return
	}
	name := trailName(in.Name)
	logging, ok := c.trails[name]
	if !ok {
		writeJSONError(w, ct, "", Fault{Status: 400, Code: "TrailNotFoundException", Message: "Unknown trail: " + in.Name})
		return
	}
	switch call.Op {
	case "GetTrailStatus":
		writeJSON(w, ct, 200, map[string]any{"IsLogging": logging})
	case "StartLogging":
		c.trails[name] = true
		writeJSON(w, ct, 200, map[string]any{})
	}
}

var cloudTrailModel = iamModel{
	prefix: "cloudtrail",
	denied: Fault{Status: http.StatusBadRequest, Code: "AccessDeniedException"},
	badKey: Fault{Status: http.StatusBadRequest, Code: "UnrecognizedClientException"},
	target: func(_ *http.Request, body []byte, op string, s scope) (string, map[string][]string, bool) {
		if op != "GetTrailStatus" && op != "StartLogging" {
			return "", nil, false
		}
		name := jsonField(body, "Name")
		if strings.HasPrefix(name, "arn:") {
			return name, nil, true
		}
		return s.arn("cloudtrail", "trail/"+name), nil, true
	},
}
