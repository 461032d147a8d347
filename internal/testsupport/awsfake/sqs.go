package awsfake

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// Message is a message the SQS fake accepted.
type Message struct {
	ID           string
	QueueURL     string
	Body         string
	DelaySeconds int
}

// SQS fakes the SQS JSON API's SendMessage.
type SQS struct {
	server
	sent []Message
}

func newSQS(log *Log) *SQS {
	s := &SQS{}
	s.server = server{service: "sqs", log: log, opOf: jsonTarget, writeFn: func(w http.ResponseWriter, f Fault) {
		writeJSONError(w, "application/x-amz-json-1.0", "com.amazonaws.sqs#", f)
	}}
	s.handle = s.serveOp
	return s
}

// Sent returns every message sent so far.
func (s *SQS) Sent() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.sent...)
}

func (s *SQS) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = nil
}

// jsonTarget reads the operation of a JSON-protocol request from X-Amz-Target.
func jsonTarget(r *http.Request, _ []byte) string {
	t := r.Header.Get("X-Amz-Target")
	if i := strings.LastIndexByte(t, '.'); i >= 0 {
		return t[i+1:]
	}
	return "Unknown"
}

func writeJSONError(w http.ResponseWriter, contentType, prefix string, f Fault) {
	writeJSON(w, contentType, f.Status, map[string]string{"__type": prefix + f.Code, "message": f.Message})
}

func (s *SQS) serveOp(w http.ResponseWriter, _ *http.Request, c *Call, body []byte) {
	const ct = "application/x-amz-json-1.0"
	if c.Op != "SendMessage" {
		writeJSONError(w, ct, "com.amazonaws.sqs#", Fault{Status: 400, Code: "InvalidAction", Message: "awsfake: unsupported SQS action " + c.Op})
		return
	}
	var in struct {
		QueueURL     string `json:"QueueUrl"`
		MessageBody  string `json:"MessageBody"`
		DelaySeconds int    `json:"DelaySeconds"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.QueueURL == "" || in.MessageBody == "" {
		writeJSONError(w, ct, "com.amazonaws.sqs#", Fault{Status: 400, Code: "MissingParameter", Message: "QueueUrl and MessageBody are required"})
		return
	}
	if in.DelaySeconds < 0 || in.DelaySeconds > 900 {
		writeJSONError(w, ct, "com.amazonaws.sqs#", Fault{Status: 400, Code: "InvalidParameterValue", Message: "DelaySeconds must be 0..900"})
		return
	}
	m := Message{ID: "msg-" + strconv.Itoa(len(s.sent)+1), QueueURL: in.QueueURL, Body: in.MessageBody, DelaySeconds: in.DelaySeconds}
	s.sent = append(s.sent, m)
	sum := md5.Sum([]byte(in.MessageBody))
	writeJSON(w, ct, 200, map[string]string{"MessageId": m.ID, "MD5OfMessageBody": hex.EncodeToString(sum[:])})
}
