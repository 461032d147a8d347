package awsfake

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// IAM fakes the IAM Query API for role policy attachments.
type IAM struct {
	server
	roles map[string][]string // role name -> attached policy ARNs
}

func newIAM(log *Log) *IAM {
	i := &IAM{roles: map[string][]string{}}
	i.server = server{service: "iam", log: log, opOf: queryAction, writeFn: writeQueryError}
	i.handle = i.serveOp
	return i
}

// PutRole creates or replaces a role with its attached managed policies.
func (i *IAM) PutRole(name string, policyARNs ...string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.roles[name] = slices.Clone(policyARNs)
}

func (i *IAM) reset() {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.roles = map[string][]string{}
}

// Attached returns the policies attached to a role, and whether it exists.
func (i *IAM) Attached(name string) ([]string, bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	p, ok := i.roles[name]
	return slices.Clone(p), ok
}

// queryAction reads the Action of a Query-protocol request.
func queryAction(_ *http.Request, body []byte) string {
	v, err := url.ParseQuery(string(body))
	if err != nil || v.Get("Action") == "" {
		return "Unknown"
	}
	return v.Get("Action")
}

func writeQueryError(w http.ResponseWriter, f Fault) {
	typ := "Sender"
	if f.Status >= 500 {
		typ = "Receiver"
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(f.Status)
	_, _ = w.Write([]byte(`<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>` + typ +
		`</Type><Code>` + xmlEscape(f.Code) + `</Code><Message>` + xmlEscape(f.Message) +
		`</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>`))
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func writeQueryResult(w http.ResponseWriter, action, result string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(200)
	inner := ""
	if result != "" {
		inner = "<" + action + "Result>" + result + "</" + action + "Result>"
	}
	_, _ = w.Write([]byte(`<` + action + `Response xmlns="https://iam.amazonaws.com/doc/2010-05-08/">` + inner +
		`<ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata></` + action + `Response>`))
}

func (i *IAM) serveOp(w http.ResponseWriter, _ *http.Request, c *Call, body []byte) {
	v, _ := url.ParseQuery(string(body))
	role := v.Get("RoleName")
	attached, ok := i.roles[role]
	if c.Op != "Unknown" && !ok {
		writeQueryError(w, Fault{Status: 404, Code: "NoSuchEntity", Message: "The role with name " + role + " cannot be found."})
		return
	}
	switch c.Op {
	case "ListAttachedRolePolicies":
		var b strings.Builder
		b.WriteString("<AttachedPolicies>")
		for _, p := range attached {
			name := p[strings.LastIndexByte(p, '/')+1:]
			b.WriteString("<member><PolicyName>" + xmlEscape(name) + "</PolicyName><PolicyArn>" + xmlEscape(p) + "</PolicyArn></member>")
		}
		b.WriteString("</AttachedPolicies><IsTruncated>false</IsTruncated>")
		writeQueryResult(w, c.Op, b.String())
	case "AttachRolePolicy":
		if p := v.Get("PolicyArn"); !slices.Contains(attached, p) {
			i.roles[role] = append(attached, p)
		}
		writeQueryResult(w, c.Op, "")
	case "DetachRolePolicy":
		p := v.Get("PolicyArn")
		j := slices.Index(attached, p)
		if j < 0 {
			writeQueryError(w, Fault{Status: 404, Code: "NoSuchEntity", Message: "Policy " + p + " was not found."})
			return
		}
		i.roles[role] = slices.Delete(attached, j, j+1)
		writeQueryResult(w, c.Op, "")
	default:
		writeQueryError(w, Fault{Status: 400, Code: "InvalidAction", Message: "awsfake: unsupported IAM action " + c.Op})
	}
}
