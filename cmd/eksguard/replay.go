package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/replay"
	"github.com/eksguard/eksguard/shared/rules"
	"github.com/eksguard/eksguard/shared/slackalert"
)

func replayCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("eksguard replay", stderr)
	policyPath := fs.String("policy", "", "policy file (default: built-in defaults)")
	output := fs.String("output", "table", "output format: table or json")
	failOn := fs.String("fail-on", "high", "exit 1 when a finding has at least this severity (info|low|medium|high|critical), or none")
	workers := fs.Int("workers", 0, "files read at once (default: one per CPU)")
	notifyChannel := fs.String("notify", "", "print the exact payloads a channel would receive instead of findings: slack or sns")
	reportPath := fs.String("report", "", "also write the replay as a self-contained HTML report to FILE")
	paths, err := parseInterleaved(fs, args)
	if err != nil {
		return 2
	}
	if len(paths) == 0 {
		fmt.Fprintln(stderr, "eksguard replay: no PATH given (a file, a directory or - for stdin)")
		return 2
	}
	threshold, err := finding.ParseSeverity(*failOn)
	if *failOn == "none" {
		threshold, err = finding.Critical+1, nil
	}
	if err != nil {
		fmt.Fprintf(stderr, "eksguard replay: --fail-on: %v\n", err)
		return 2
	}
	if *output != "table" && *output != "json" {
		fmt.Fprintf(stderr, "eksguard replay: --output: unknown format %q (want table or json)\n", *output)
		return 2
	}
	if *notifyChannel != "" && *notifyChannel != slackalert.ChannelSlack && *notifyChannel != slackalert.ChannelSNS {
		fmt.Fprintf(stderr, "eksguard replay: --notify: unknown channel %q (want slack or sns)\n", *notifyChannel)
		return 2
	}
	pol, err := loadPolicy(*policyPath)
	if err != nil {
		fmt.Fprintf(stderr, "eksguard replay: %v\n", err)
		return 2
	}
	files, inputErrs := replay.Inputs(paths)
	for _, e := range inputErrs {
		fmt.Fprintf(stderr, "eksguard: %v\n", e)
	}
	rep, err := newReport(*reportPath, pol, paths, inputErrs)
	if err != nil {
		fmt.Fprintf(stderr, "eksguard replay: %v\n", err)
		return 2
	}
	var st replay.Stats
	table := newTableWriter(stdout)
	var out findingWriter = table
	if *output == "json" {
		out = &jsonWriter{enc: json.NewEncoder(stdout)}
	}
	var preview *previewWriter
	if *notifyChannel != "" {
		preview = &previewWriter{channel: *notifyChannel}
		out = preview
	}
	// A progress bar on stderr when it is a terminal; nothing when piped.
	// Lines printed to the same terminal pause it.
	writeFinding := out.write
	writeError := func(e *replay.InputError) { fmt.Fprintf(stderr, "eksguard: %v\n", e) }
	var bar *progress
	if isTerminal(stderr) {
		bar = startProgress(stderr, inputSize(files), &st, time.Now)
		if isTerminal(stdout) {
			writeFinding = func(f *finding.Finding) { bar.pause(func() { out.write(f) }) }
		}
		writeError = func(e *replay.InputError) {
			bar.pause(func() { fmt.Fprintf(stderr, "eksguard: %v\n", e) })
		}
	}
	reached := false
	err = replay.Run(ctx, files, replay.Options{
		Engine:  rules.NewEngine(pol, rules.All()),
		Workers: *workers,
		Stdin:   stdin,
		OnFinding: func(f *finding.Finding) {
			if f.Severity >= threshold {
				reached = true
			}
			writeFinding(f)
			rep.add(f)
		},
		OnError: func(e *replay.InputError) { writeError(e); rep.addError(e) },
	}, &st)
	if bar != nil {
		bar.finish(err == nil)
	}
	out.flush()
	if err := rep.write(&st, len(inputErrs)); err != nil {
		fmt.Fprintf(stderr, "eksguard replay: %v\n", err)
		return 2
	}
	if preview != nil {
		if err := slackalert.Preview(stdout, preview.channel, preview.fs, pol); err != nil {
			fmt.Fprintf(stderr, "eksguard replay: %v\n", err)
			return 2
		}
	} else if *output == "table" {
		fmt.Fprintf(stdout, "\n%d files, %d records, %d in scope, %d findings%s, %d unreadable (policy: %s)\n",
			st.Files.Load(), st.Records.Load(), st.InScope.Load(), st.Findings.Load(), table.summary(),
			st.Errors.Load()+int64(len(inputErrs)), pol.Source())
	}
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "eksguard replay: %v\n", err)
		return 2
	case len(inputErrs) > 0 || st.Errors.Load() > 0:
		return 2
	case reached:
		return 1
	}
	return 0
}

type findingWriter interface {
	write(*finding.Finding)
	flush()
}

// previewWriter collects findings to print as notification payloads.
type previewWriter struct {
	channel string
	fs      []finding.Finding
}

func (p *previewWriter) write(f *finding.Finding) { p.fs = append(p.fs, *f) }
func (p *previewWriter) flush()                   {}

type jsonWriter struct{ enc *json.Encoder }

func (w *jsonWriter) write(f *finding.Finding) { _ = w.enc.Encode(f) }
func (w *jsonWriter) flush()                   {}

// tableWriter prints a finding as a head line and labelled details, the
// way a person scans a list, and counts findings per severity.
type tableWriter struct {
	w     io.Writer
	n     int
	bySev [finding.Critical + 1]int
}

func newTableWriter(w io.Writer) *tableWriter { return &tableWriter{w: w} }

func (t *tableWriter) write(f *finding.Finding) {
	if t.n > 0 {
		fmt.Fprintln(t.w)
	}
	t.n++
	if f.Severity >= finding.Info && f.Severity <= finding.Critical {
		t.bySev[f.Severity]++
	}
	where := f.Account + " " + f.Region
	if f.Cluster != "" {
		where = f.Cluster + " (" + where + ")"
	}
	fmt.Fprintf(t.w, "%-8s  %s  %s  %s\n", strings.ToUpper(f.Severity.String()), f.Rule, where, f.EventTime)
	line := func(label, text string) { fmt.Fprintf(t.w, "  %-9s %s\n", label, text) }
	line("what", f.Summary)
	line("who", who(f))
	if f.NeedsCheck != "" {
		line("check", f.NeedsCheck)
	}
	if f.Plan == nil {
		line("by hand", fixFor(f.Rule))
	} else {
		verb := "would do"
		note := " (mode " + string(f.Mode) + ": not applied)"
		if f.Mode == finding.ModeRemediate {
			verb, note = "will do", ""
		}
		line(verb, f.Plan.Summary()+note)
		line("", f.Plan.CLI(f.Region))
	}
	line("event", f.EventName+" "+f.EventID)
}

// summary counts the findings per severity, most severe first.
func (t *tableWriter) summary() string {
	var parts []string
	for s := finding.Critical; s >= finding.Info; s-- {
		if t.bySev[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", t.bySev[s], s))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func (t *tableWriter) flush() {
	if t.n == 0 {
		fmt.Fprintln(t.w, "no findings")
	}
}

func who(f *finding.Finding) string {
	s := f.Actor.ARN
	var tags []string
	if f.Actor.SourceIP != "" {
		tags = append(tags, "from "+f.Actor.SourceIP)
	}
	if f.Actor.Console {
		tags = append(tags, "console")
	}
	if f.Actor.MFA {
		tags = append(tags, "MFA")
	}
	if len(tags) > 0 {
		s += " (" + strings.Join(tags, ", ") + ")"
	}
	return s
}

func fixFor(ruleID string) string {
	if r, ok := rules.ByID(ruleID); ok {
		return r.Fix
	}
	return ""
}
