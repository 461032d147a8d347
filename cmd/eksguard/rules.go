package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/eksguard/eksguard/shared/policy"
	"github.com/eksguard/eksguard/shared/rules"
)

func rulesCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("eksguard rules", stderr)
	policyPath := fs.String("policy", "", "policy file (default: built-in defaults)")
	output := fs.String("output", "table", "output format: table, json or markdown")
	if _, err := parseInterleaved(fs, args); err != nil {
		return 2
	}
	pol, err := loadPolicy(*policyPath)
	if err != nil {
		fmt.Fprintf(stderr, "eksguard rules: %v\n", err)
		return 2
	}
	switch *output {
	case "table":
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSEVERITY\tMODE\tSCAN\tEVENTS\tTITLE")
		for _, r := range rules.All() {
			sc := "no"
			if r.State != nil {
				sc = "yes"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Severity, pol.ModeFor(r.ID), sc, strings.Join(r.Events(), ","), r.Title)
		}
		tw.Flush()
	case "json":
		enc := json.NewEncoder(stdout)
		for _, r := range rules.All() {
			_ = enc.Encode(map[string]any{
				"id": r.ID, "title": r.Title, "severity": r.Severity, "mode": pol.ModeFor(r.ID),
				"events": r.Events(), "rationale": r.Rationale, "fix": r.Fix, "actions": r.Actions,
				// Whether `eksguard scan` and the scheduled scan judge it, and if not why.
				"scan": r.State != nil, "noScanReason": rules.NoState[r.ID],
			})
		}
	case "markdown":
		fmt.Fprint(stdout, RulesMarkdown(pol))
	default:
		fmt.Fprintf(stderr, "eksguard rules: --output: unknown format %q (want table, json or markdown)\n", *output)
		return 2
	}
	return 0
}

// RulesMarkdown is the rule table the README carries.
func RulesMarkdown(pol *policy.Policy) string {
	var b strings.Builder
	b.WriteString("| Rule | Severity | Events | What it catches | Automatic fix |\n|---|---|---|---|---|\n")
	for _, r := range rules.All() {
		fix := "none (alert only)"
		if len(r.Actions) > 0 {
			fix = "`" + strings.Join(r.Actions, "`, `") + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s. %s | %s |\n", r.ID, r.Severity, strings.Join(r.Events(), ", "), r.Title, r.Rationale, fix)
	}
	return b.String()
}

func validateCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: eksguard policy validate FILE...")
		return 2
	}
	code := 0
	for _, path := range args {
		pol, err := policy.Load(path, rules.IDs())
		if err != nil {
			fmt.Fprintln(stderr, err)
			code = 1
			continue
		}
		counts := map[string]int{}
		for _, r := range rules.All() {
			counts[string(pol.ModeFor(r.ID))]++
		}
		fmt.Fprintf(stdout, "%s: valid (%d rules: %d remediate, %d notify, %d off)\n", path, len(rules.All()),
			counts["remediate"], counts["notify"], counts["off"])
	}
	return code
}
