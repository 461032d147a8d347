package hubimport

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// hubFake is Security Hub's BatchImportFindings as the API reference
// describes it: POST /findings/import with {"Findings": [...]} (REST-JSON,
// SigV4 with the service name securityhub), at most 100 findings per
// call (InvalidInputException otherwise), a finding with a known Id
// updated only when its UpdatedAt is later than the stored one, and the
// response's FailedCount, SuccessCount and FailedFindings
// [{Id, ErrorCode, ErrorMessage}].
type hubFake struct {
	srv *httptest.Server

	mu       sync.Mutex
	calls    [][]string                // Ids of each call, in order
	findings map[string]map[string]any // ProductArn + Id -> finding
	updates  map[string]int            // times a stored finding was replaced
	// reject gives, per Id, how many more calls reject it and with what code.
	reject map[string]rejection
	// fail makes the next calls fail as a whole with this status.
	fail []int
}

type rejection struct {
	times int
	code  string
}

// required are the ASFF attributes BatchImportFindings refuses a finding without.
var required = []string{"SchemaVersion", "Id", "ProductArn", "GeneratorId", "AwsAccountId", "CreatedAt", "UpdatedAt", "Title", "Description", "Resources"}

func newHubFake(t *testing.T) *hubFake {
	h := &hubFake{findings: map[string]map[string]any{}, updates: map[string]int{}, reject: map[string]rejection{}}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"Code": code, "Message": msg})
}

func (h *hubFake) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/findings/import" {
		writeErr(w, http.StatusNotFound, "ResourceNotFoundException", "no such operation "+r.Method+" "+r.URL.Path)
		return
	}
	if auth := r.Header.Get("Authorization"); !strings.Contains(auth, "/securityhub/aws4_request") {
		writeErr(w, http.StatusForbidden, "AccessDeniedException", "request not signed for securityhub")
		return
	}
	var req struct {
		Findings []map[string]any `json:"Findings"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeErr(w, http.StatusBadRequest, "InvalidInputException", err.Error())
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.fail) > 0 {
		status := h.fail[0]
		h.fail = h.fail[1:]
		writeErr(w, status, "InternalException", "internal error")
		return
	}
	if len(req.Findings) == 0 || len(req.Findings) > 100 {
		writeErr(w, http.StatusBadRequest, "InvalidInputException", fmt.Sprintf("Findings: %d members, want 1 to 100", len(req.Findings)))
		return
	}
	var ids []string
	type failed struct{ Id, ErrorCode, ErrorMessage string }
	var fails []failed
	for _, f := range req.Findings {
		id, _ := f["Id"].(string)
		ids = append(ids, id)
		if missing := missingAttr(f); missing != "" {
			fails = append(fails, failed{id, "InvalidInput", "Finding does not adhere to Amazon Finding Format. data should have required property '" + missing + "'"})
			continue
		}
		if rj, ok := h.reject[id]; ok && rj.times > 0 {
			rj.times--
			h.reject[id] = rj
			fails = append(fails, failed{id, rj.code, "rejected by the test"})
			continue
		}
		key := f["ProductArn"].(string) + "|" + id
		if old, ok := h.findings[key]; ok {
			if !later(f["UpdatedAt"].(string), old["UpdatedAt"].(string)) {
				continue // ignored, as Security Hub does
			}
			h.updates[key]++
		}
		h.findings[key] = f
	}
	h.calls = append(h.calls, ids)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"FailedCount": len(fails), "SuccessCount": len(req.Findings) - len(fails), "FailedFindings": fails,
	})
}

func missingAttr(f map[string]any) string {
	for _, a := range required {
		if _, ok := f[a]; !ok {
			return a
		}
	}
	return ""
}

func later(a, b string) bool {
	ta, err1 := time.Parse(time.RFC3339Nano, a)
	tb, err2 := time.Parse(time.RFC3339Nano, b)
	return err1 == nil && err2 == nil && ta.After(tb)
}

func (h *hubFake) stored() map[string]map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]map[string]any{}
	for k, v := range h.findings {
		out[k] = v
	}
	return out
}

func (h *hubFake) callSizes() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []int
	for _, c := range h.calls {
		out = append(out, len(c))
	}
	return out
}
