package awsfake

import (
	"encoding/json"
	"net/http"
)

// SSM fakes the SSM Parameter Store's GetParameter.
type SSM struct {
	server
	params map[string]string
}

func newSSM(log *Log) *SSM {
	s := &SSM{params: map[string]string{}}
	s.server = server{service: "ssm", log: log, opOf: jsonTarget, writeFn: func(w http.ResponseWriter, f Fault) {
		writeJSONError(w, "application/x-amz-json-1.1", "", f)
	}}
	s.handle = s.serveOp
	return s
}

// Set creates or changes a String parameter.
func (s *SSM) Set(name, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.params[name] = value
}

func (s *SSM) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.params = map[string]string{}
}

func (s *SSM) serveOp(w http.ResponseWriter, _ *http.Request, c *Call, body []byte) {
	const ct = "application/x-amz-json-1.1"
	if c.Op != "GetParameter" {
		writeJSONError(w, ct, "", Fault{Status: 400, Code: "InvalidAction", Message: "awsfake: unsupported SSM action " + c.Op})
		return
	}
	var in struct{ Name string }
	_ = json.Unmarshal(body, &in)
	v, ok := s.params[in.Name]
	if !ok {
		writeJSONError(w, ct, "", Fault{Status: 400, Code: "ParameterNotFound", Message: "parameter " + in.Name + " not found"})
		return
	}
	writeJSON(w, ct, 200, map[string]any{"Parameter": map[string]any{"Name": in.Name, "Type": "String", "Value": v, "Version": 1}})
}
