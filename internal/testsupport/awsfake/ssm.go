package awsfake

import (
	"encoding/json"
	"net/http"
)

// SSM fakes the SSM Parameter Store's GetParameter and PutParameter
// (String parameters).
type SSM struct {
	server
	params   map[string]string
	versions map[string]int
}

func newSSM(log *Log) *SSM {
	s := &SSM{params: map[string]string{}, versions: map[string]int{}}
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
	s.versions[name]++
}

// Get returns a parameter's value and version (0 when it does not exist).
func (s *SSM) Get(name string) (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.params[name], s.versions[name]
}

func (s *SSM) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.params = map[string]string{}
	s.versions = map[string]int{}
}

func (s *SSM) serveOp(w http.ResponseWriter, _ *http.Request, c *Call, body []byte) {
	const ct = "application/x-amz-json-1.1"
	var in struct {
		Name, Value, Type string
		Overwrite         bool
	}
	_ = json.Unmarshal(body, &in)
	switch c.Op {
	case "GetParameter":
	case "PutParameter":
		s.put(w, in.Name, in.Value, in.Type, in.Overwrite)
		return
	default:
		writeJSONError(w, ct, "", Fault{Status: 400, Code: "InvalidAction", Message: "awsfake: unsupported SSM action " + c.Op})
		return
	}
	v, ok := s.params[in.Name]
	if !ok {
		writeJSONError(w, ct, "", Fault{Status: 400, Code: "ParameterNotFound", Message: "parameter " + in.Name + " not found"})
		return
	}
	writeJSON(w, ct, 200, map[string]any{"Parameter": map[string]any{"Name": in.Name, "Type": "String", "Value": v, "Version": 1}})
}

// put is PutParameter (under the server's lock): a new String parameter, or a new version of an
// existing one when Overwrite is set (ParameterAlreadyExists otherwise).
func (s *SSM) put(w http.ResponseWriter, name, value, typ string, overwrite bool) {
	const ct = "application/x-amz-json-1.1"
	if name == "" || value == "" {
		writeJSONError(w, ct, "", Fault{Status: 400, Code: "ValidationException", Message: "Name and Value are required"})
		return
	}
	if typ != "" && typ != "String" {
		writeJSONError(w, ct, "", Fault{Status: 400, Code: "UnsupportedParameterType", Message: "awsfake: only String parameters, not " + typ})
		return
	}
	if _, exists := s.params[name]; exists && !overwrite {
		writeJSONError(w, ct, "", Fault{Status: 400, Code: "ParameterAlreadyExists", Message: "The parameter already exists. To overwrite this value, set the overwrite option in the request to true."})
		return
	}
	s.params[name] = value
	s.versions[name]++
	writeJSON(w, ct, 200, map[string]any{"Version": s.versions[name], "Tier": "Standard"})
}
