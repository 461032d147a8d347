package awsfake

import (
	"encoding/json"
	"net/http"
	"strings"
)

// SecretsManager fakes Secrets Manager's GetSecretValue for string secrets.
type SecretsManager struct {
	server
	secrets map[string]string // secret ID (ARN or name, as set) -> secret string
}

func newSecretsManager(log *Log) *SecretsManager {
	s := &SecretsManager{secrets: map[string]string{}}
	s.server = server{service: "secretsmanager", log: log, opOf: jsonTarget, writeFn: func(w http.ResponseWriter, f Fault) {
		writeJSONError(w, "application/x-amz-json-1.1", "", f)
	}}
	s.handle = s.serveOp
	return s
}

// Set creates or changes a secret's string value. GetSecretValue finds it
// by exactly this ID (give the ARN when the code under test is given one).
func (s *SecretsManager) Set(id, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets[id] = value
}

func (s *SecretsManager) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets = map[string]string{}
}

func (s *SecretsManager) serveOp(w http.ResponseWriter, _ *http.Request, c *Call, body []byte) {
	const ct = "application/x-amz-json-1.1"
	if c.Op != "GetSecretValue" {
		writeJSONError(w, ct, "", Fault{Status: 400, Code: "InvalidRequestException", Message: "awsfake: unsupported Secrets Manager action " + c.Op})
		return
	}
	var in struct {
		SecretID string `json:"SecretId"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.SecretID == "" {
		writeJSONError(w, ct, "", Fault{Status: 400, Code: "InvalidParameterException", Message: "SecretId is required"})
		return
	}
	v, ok := s.secrets[in.SecretID]
	if !ok {
		// Also what Secrets Manager answers for a secret created without a value.
		writeJSONError(w, ct, "", Fault{Status: 400, Code: "ResourceNotFoundException", Message: "Secrets Manager can't find the specified secret."})
		return
	}
	name := in.SecretID
	if strings.HasPrefix(name, "arn:") {
		name = name[strings.LastIndex(name, ":")+1:]
	}
	writeJSON(w, ct, 200, map[string]any{
		"ARN": in.SecretID, "Name": name, "SecretString": v,
		"VersionId": "00000000-0000-4000-8000-000000000001", "VersionStages": []string{"AWSCURRENT"},
	})
}
