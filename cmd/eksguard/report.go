package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/replay"
	"github.com/eksguard/eksguard/shared/report"
	"github.com/eksguard/eksguard/shared/trailfile"
)

// replayReport is the --report file of a replay; its methods do nothing
// when no report was asked for (a nil receiver).
type replayReport struct {
	path string
	f    *os.File
	b    *report.Builder
	// selection describes the replay's filters, for the page.
	selection string
}

// newReport creates the report file before the replay starts, so a path
// that cannot be written fails at once rather than after a long run.
func newReport(path string, pol *policy.Policy, inputs []string) (*replayReport, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--report: %w", err)
	}
	return &replayReport{path: path, f: f, b: report.New(pol, inputs, report.DefaultLimits)}, nil
}

func (r *replayReport) add(f *finding.Finding) {
	if r != nil {
		r.b.Add(f)
	}
}

func (r *replayReport) addError(e *replay.InputError) {
	if r != nil {
		r.b.AddError(e)
	}
}

// write renders the report with the replay's totals, as the table summary gives them.
func (r *replayReport) write(st *replay.Stats) error {
	if r == nil {
		return nil
	}
	err := r.b.Write(r.f, report.Counts{
		Files: st.Files.Load(), Bytes: st.Bytes.Load(), Records: st.Records.Load(),
		InScope: st.InScope.Load(), Outside: st.Outside.Load(), Unreadable: st.Errors.Load(),
		Selection: r.selection,
	})
	if cerr := r.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close: %w", cerr)
	}
	if err != nil {
		return fmt.Errorf("report %s: %w", r.path, err)
	}
	return nil
}

// selection words a replay's filters for the report: "" when it reads everything.
func selection(f trailfile.Filter) string {
	var parts []string
	if !f.Since.IsZero() {
		parts = append(parts, "since "+f.Since.UTC().Format(time.RFC3339))
	}
	if !f.Until.IsZero() {
		parts = append(parts, "until "+f.Until.UTC().Format(time.RFC3339))
	}
	if len(f.Accounts) > 0 {
		parts = append(parts, "accounts "+strings.Join(f.Accounts, ", "))
	}
	if len(f.Regions) > 0 {
		parts = append(parts, "regions "+strings.Join(f.Regions, ", "))
	}
	return strings.Join(parts, "; ")
}
