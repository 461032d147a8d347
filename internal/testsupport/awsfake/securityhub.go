package awsfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// SecurityHub fakes Security Hub's BatchImportFindings as the API reference
// describes it: POST /findings/import with {"Findings": [...]} (REST-JSON),
// 1 to 100 findings per call (InvalidInputException otherwise), a finding
// refused (InvalidInput in FailedFindings) when it lacks a required ASFF
// attribute, a finding with a known ProductArn and Id replaced only when
// its UpdatedAt is later than the stored one (otherwise the update is
// ignored), and the answer's FailedCount, SuccessCount and
// FailedFindings [{Id, ErrorCode, ErrorMessage}]. Once the World enforces
// IAM, it also holds callers to the rule of the default product: a
// finding's AwsAccountId must be the calling account, and its default
// ProductArn that account's in the region the call is signed for; a batch
// breaking it is refused whole with AccessDeniedException, as Security Hub
// answers it.
type SecurityHub struct {
	server
	findings map[string]map[string]any // ProductArn|Id -> finding
	updates  map[string]int            // ProductArn|Id -> times replaced
	reject   map[string]Rejection      // Id -> the next calls refuse it
}

// Rejection makes the next Times calls list a finding in FailedFindings
// with ErrorCode.
type Rejection struct {
	Times     int
	ErrorCode string
}

// asffRequired are the attributes BatchImportFindings refuses a finding without.
var asffRequired = []string{"SchemaVersion", "Id", "ProductArn", "GeneratorId", "AwsAccountId", "CreatedAt", "UpdatedAt", "Title", "Description", "Resources"}

func newSecurityHub(log *Log) *SecurityHub {
	h := &SecurityHub{}
	h.reset()
	h.server = server{service: "securityhub", log: log, opOf: securityHubOp, writeFn: writeRESTJSONError}
	h.handle = h.serveOp
	return h
}

func securityHubOp(r *http.Request, _ []byte) string {
	if r.Method == http.MethodPost && r.URL.Path == "/findings/import" {
		return "BatchImportFindings"
	}
	return r.Method + " " + r.URL.Path
}

func writeRESTJSONError(w http.ResponseWriter, f Fault) {
	w.Header().Set("X-Amzn-Errortype", f.Code)
	writeJSON(w, "application/json", f.Status, map[string]string{"Code": f.Code, "Message": f.Message})
}

func (h *SecurityHub) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.findings, h.updates, h.reject = map[string]map[string]any{}, map[string]int{}, map[string]Rejection{}
}

// Reject makes the next calls refuse the finding with this Id.
func (h *SecurityHub) Reject(id string, r Rejection) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reject[id] = r
}

// Findings returns the stored findings by "ProductArn|Id".
func (h *SecurityHub) Findings() map[string]map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]map[string]any{}
	for k, v := range h.findings {
		out[k] = v
	}
	return out
}

// Updates is how often the stored finding was replaced by a later import.
func (h *SecurityHub) Updates(productARN, id string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.updates[productARN+"|"+id]
}

func (h *SecurityHub) serveOp(w http.ResponseWriter, _ *http.Request, c *Call, body []byte) {
	if c.Op != "BatchImportFindings" {
		writeRESTJSONError(w, Fault{Status: http.StatusNotFound, Code: "ResourceNotFoundException", Message: "awsfake: unsupported Security Hub call " + c.Op})
		return
	}
	var req struct {
		Findings []map[string]any `json:"Findings"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeRESTJSONError(w, Fault{Status: http.StatusBadRequest, Code: "InvalidInputException", Message: err.Error()})
		return
	}
	if n := len(req.Findings); n == 0 || n > 100 {
		writeRESTJSONError(w, Fault{Status: http.StatusBadRequest, Code: "InvalidInputException", Message: fmt.Sprintf("Findings: %d members, want 1 to 100", n)})
		return
	}
	if c.Caller != "" {
		if f, bad := wrongAccount(c, req.Findings); bad {
			writeRESTJSONError(w, f)
			return
		}
	}
	type failed struct{ Id, ErrorCode, ErrorMessage string }
	fails := []failed{}
	for _, f := range req.Findings {
		id, _ := f["Id"].(string)
		if missing := missingASFF(f); missing != "" {
			fails = append(fails, failed{id, "InvalidInput", "Finding does not adhere to Amazon Finding Format. data should have required property '" + missing + "'"})
			continue
		}
		if rj, ok := h.reject[id]; ok && rj.Times > 0 {
			rj.Times--
			h.reject[id] = rj
			fails = append(fails, failed{id, rj.ErrorCode, "refused by the test"})
			continue
		}
		key := fmt.Sprint(f["ProductArn"]) + "|" + id
		if old, ok := h.findings[key]; ok {
			if !laterStamp(fmt.Sprint(f["UpdatedAt"]), fmt.Sprint(old["UpdatedAt"])) {
				continue // ignored, as Security Hub does
			}
			h.updates[key]++
		}
		h.findings[key] = f
	}
	writeJSON(w, "application/json", http.StatusOK, map[string]any{
		"FailedCount": len(fails), "SuccessCount": len(req.Findings) - len(fails), "FailedFindings": fails,
	})
}

// wrongAccount refuses a batch holding a finding of another account than
// the caller's, or of another account's or region's default product.
func wrongAccount(c *Call, findings []map[string]any) (Fault, bool) {
	parts := strings.SplitN(c.Caller, ":", 6)
	if len(parts) != 6 {
		return Fault{}, false
	}
	partition, account := parts[1], parts[4]
	for _, f := range findings {
		pa, _ := f["ProductArn"].(string)
		acct, _ := f["AwsAccountId"].(string)
		isDefault := strings.HasSuffix(pa, "/default") && strings.Contains(pa, ":product/")
		want := "arn:" + partition + ":securityhub:" + c.Region + ":" + account + ":product/" + account + "/default"
		if isDefault && (acct != account || pa != want) {
			return Fault{Status: http.StatusForbidden, Code: "AccessDeniedException",
				Message: fmt.Sprintf("User: %s is not authorized to perform: securityhub:BatchImportFindings on resource: %s (finding of account %s)", c.Caller, pa, acct)}, true
		}
	}
	return Fault{}, false
}

func missingASFF(f map[string]any) string {
	for _, a := range asffRequired {
		if _, ok := f[a]; !ok {
			return a
		}
	}
	return ""
}

func laterStamp(a, b string) bool {
	ta, err1 := time.Parse(time.RFC3339Nano, a)
	tb, err2 := time.Parse(time.RFC3339Nano, b)
	return err1 == nil && err2 == nil && ta.After(tb)
}

// securityHubModel authorizes BatchImportFindings on the product its
// findings name (the action's resource type is the product).
var securityHubModel = iamModel{
	prefix: "securityhub",
	denied: Fault{Status: http.StatusForbidden, Code: "AccessDeniedException"},
	badKey: Fault{Status: http.StatusForbidden, Code: "UnrecognizedClientException"},
	target: func(_ *http.Request, body []byte, op string, _ scope) (string, map[string][]string, bool) {
		if op != "BatchImportFindings" {
			return "", nil, false
		}
		var req struct {
			Findings []struct {
				ProductArn string `json:"ProductArn"`
			} `json:"Findings"`
		}
		if json.Unmarshal(body, &req) != nil || len(req.Findings) == 0 {
			return "", nil, false
		}
		return req.Findings[0].ProductArn, nil, true
	},
}
