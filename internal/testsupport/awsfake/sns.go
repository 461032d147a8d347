package awsfake

import (
	"net/http"
	"net/url"
	"strconv"
)

// Published is a message the SNS fake accepted.
type Published struct {
	ID         string // the MessageId the fake answered with
	TopicARN   string
	Subject    string
	Message    string
	Attributes map[string]string // name -> "DataType=Value"
}

// SNS fakes the SNS Query API's Publish.
type SNS struct {
	server
	published []Published
	seq       int64 // message IDs stay unique across resets
}

func newSNS(log *Log) *SNS {
	s := &SNS{}
	s.server = server{service: "sns", log: log, opOf: queryAction, writeFn: writeQueryError}
	s.handle = s.serveOp
	return s
}

func (s *SNS) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.published = nil
}

// Published returns every message published so far.
func (s *SNS) Published() []Published {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Published(nil), s.published...)
}

func (s *SNS) serveOp(w http.ResponseWriter, _ *http.Request, c *Call, body []byte) {
	if c.Op != "Publish" {
		writeQueryError(w, Fault{Status: 400, Code: "InvalidAction", Message: "awsfake: unsupported SNS action " + c.Op})
		return
	}
	v, _ := url.ParseQuery(string(body))
	if v.Get("TopicArn") == "" || v.Get("Message") == "" {
		writeQueryError(w, Fault{Status: 400, Code: "InvalidParameter", Message: "TopicArn and Message are required"})
		return
	}
	s.seq++
	id := "00000000-0000-4000-8000-" + strconv.FormatInt(100000000000+s.seq, 10)
	p := Published{ID: id, TopicARN: v.Get("TopicArn"), Subject: v.Get("Subject"), Message: v.Get("Message"), Attributes: map[string]string{}}
	for i := 1; ; i++ {
		pre := "MessageAttributes.entry." + strconv.Itoa(i) + "."
		name := v.Get(pre + "Name")
		if name == "" {
			break
		}
		p.Attributes[name] = v.Get(pre+"Value.DataType") + "=" + v.Get(pre+"Value.StringValue")
	}
	s.published = append(s.published, p)
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(200)
	_, _ = w.Write([]byte(`<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>` + id +
		`</MessageId></PublishResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></PublishResponse>`))
}
