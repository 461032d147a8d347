package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"runtime"
	"strings"
	"time"

	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/replay"
	"github.com/eksguard/eksguard/shared/rules"
	"github.com/eksguard/eksguard/shared/s3archive"
	"github.com/eksguard/eksguard/shared/slackalert"
	"github.com/eksguard/eksguard/shared/trailfile"
)

func replayCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("eksguard replay", stderr)
	policyPath := fs.String("policy", "", "policy file (default: built-in defaults)")
	output := fs.String("output", "table", "output format: table, json or asff (AWS Security Finding Format, one document per line)")
	failOn := fs.String("fail-on", "high", "exit 1 when a finding has at least this severity (info|low|medium|high|critical), or none")
	workers := fs.Int("workers", 0, "inputs read at once (default: one per CPU for local files, 4 per CPU with s3:// inputs)")
	notifyChannel := fs.String("notify", "", "print the exact payloads a channel would receive instead of findings: slack or sns")
	since := fs.String("since", "", "only records at or after this time: a date (2026-11-01), an RFC 3339 time, or a duration before now (30d, 12h)")
	until := fs.String("until", "", "only records before this time: a date (the whole day included), an RFC 3339 time, or a duration before now")
	var accounts, regions listFlag
	fs.Var(&accounts, "account", "only the logs of this account (repeatable); CloudTrail layout AWSLogs/[o-ORG/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/")
	fs.Var(&regions, "region", "only the logs of this region (repeatable)")
	reportPath := fs.String("report", "", "also write the replay as a self-contained HTML report to FILE")
	paths, err := parseInterleaved(fs, args)
	if err != nil {
		return 2
	}
	if len(paths) == 0 {
		fmt.Fprintln(stderr, "eksguard replay: no PATH given (a file, a directory, s3://BUCKET/PREFIX or - for stdin)")
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
	if *output != "table" && *output != "json" && *output != "asff" {
		fmt.Fprintf(stderr, "eksguard replay: --output: unknown format %q (want table, json or asff)\n", *output)
		return 2
	}
	if *notifyChannel != "" && *notifyChannel != slackalert.ChannelSlack && *notifyChannel != slackalert.ChannelSNS {
		fmt.Fprintf(stderr, "eksguard replay: --notify: unknown channel %q (want slack or sns)\n", *notifyChannel)
		return 2
	}
	filter := trailfile.Filter{Accounts: accounts, Regions: regions}
	now := time.Now()
	if filter.Since, err = parseTime(*since, now, false); err != nil {
		fmt.Fprintf(stderr, "eksguard replay: --since: %v\n", err)
		return 2
	}
	if filter.Until, err = parseTime(*until, now, true); err != nil {
		fmt.Fprintf(stderr, "eksguard replay: --until: %v\n", err)
		return 2
	}
	if !filter.Since.IsZero() && !filter.Until.IsZero() && !filter.Until.After(filter.Since) {
		fmt.Fprintf(stderr, "eksguard replay: --until %s is not after --since %s\n", filter.Until.Format(time.RFC3339), filter.Since.Format(time.RFC3339))
		return 2
	}
	pol, err := loadPolicy(*policyPath)
	if err != nil {
		fmt.Fprintf(stderr, "eksguard replay: %v\n", err)
		return 2
	}
	rep, err := newReport(*reportPath, pol, paths)
	if err != nil {
		fmt.Fprintf(stderr, "eksguard replay: %v\n", err)
		return 2
	}
	if rep != nil {
		rep.selection = selection(filter)
	}
	inputs, remote, err := replayInputs(ctx, paths, filter, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "eksguard replay: %v\n", err)
		return 2
	}
	if *workers <= 0 && remote {
		*workers = 4 * runtime.GOMAXPROCS(0)
	}
	var st replay.Stats
	table := newTableWriter(stdout)
	out := formatWriter(*output, table, stdout)
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
		bar = startProgress(stderr, &st, time.Now)
		if isTerminal(stdout) {
			writeFinding = func(f *finding.Finding) { bar.pause(func() { out.write(f) }) }
		}
		writeError = func(e *replay.InputError) {
			bar.pause(func() { fmt.Fprintf(stderr, "eksguard: %v\n", e) })
		}
	}
	reached := false
	err = replay.Run(ctx, inputs, replay.Options{
		Engine:  rules.NewEngine(pol, rules.All()),
		Workers: *workers,
		Window:  filter,
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
	if err := rep.write(&st); err != nil {
		fmt.Fprintf(stderr, "eksguard replay: %v\n", err)
		return 2
	}
	if preview != nil {
		if err := slackalert.Preview(stdout, preview.channel, preview.fs, pol); err != nil {
			fmt.Fprintf(stderr, "eksguard replay: %v\n", err)
			return 2
		}
	} else if *output == "table" {
		outside := ""
		if n := st.Outside.Load(); n > 0 {
			outside = fmt.Sprintf(", %d outside --since/--until", n)
		}
		fmt.Fprintf(stdout, "\n%d files, %d records%s, %d in scope, %d findings%s, %d unreadable (policy: %s)\n",
			st.Files.Load(), st.Records.Load(), outside, st.InScope.Load(), st.Findings.Load(), table.summary(),
			st.Errors.Load(), pol.Source())
	}
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "eksguard replay: %v\n", err)
		return 2
	case st.Errors.Load() > 0:
		return 2
	case reached:
		return 1
	}
	return 0
}

// replayInputs turns the PATH arguments into inputs, in order: local files
// and directories, s3://BUCKET/PREFIX listings (remote reports one), and
// - for stdin. The S3 client is made once, from the standard AWS
// configuration, when the first s3:// path is met.
func replayInputs(ctx context.Context, paths []string, f trailfile.Filter, stdin io.Reader) (iter.Seq[replay.Input], bool, error) {
	var seqs []iter.Seq[replay.Input]
	var archive *s3archive.Archive
	for _, p := range paths {
		loc, ok, err := s3archive.ParseURL(p)
		if err != nil {
			return nil, false, err
		}
		if !ok {
			seqs = append(seqs, replay.Inputs([]string{p}, f, stdin))
			continue
		}
		if archive == nil {
			client, err := s3archive.NewClient(ctx)
			if err != nil {
				return nil, false, err
			}
			archive = &s3archive.Archive{Client: client, Filter: f}
		}
		seqs = append(seqs, archive.Inputs(ctx, loc))
	}
	return func(yield func(replay.Input) bool) {
		for _, seq := range seqs {
			for in := range seq {
				if !yield(in) {
					return
				}
			}
		}
	}, archive != nil, nil
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
	where := strings.TrimSpace(f.Account + " " + f.Region)
	if f.Cluster != "" {
		where = f.Cluster + " (" + where + ")"
	}
	when := f.EventTime
	if f.Source == finding.SourceScan {
		when = f.ID // a state has no event time; its ID follows it from scan to scan
	}
	fmt.Fprintf(t.w, "%-8s  %s  %s  %s\n", strings.ToUpper(f.Severity.String()), f.Rule, where, when)
	line := func(label, text string) { fmt.Fprintf(t.w, "  %-9s %s\n", label, text) }
	line("what", f.Summary)
	if f.Source != finding.SourceScan {
		line("who", who(f))
	}
	if f.NeedsCheck != "" {
		line("check", f.NeedsCheck)
	}
	switch {
	case f.Plan == nil && f.Command != "":
		line("by hand", f.Command)
	case f.Plan == nil:
		line("by hand", fixFor(f.Rule))
	default:
		verb := "would do"
		note := " (mode " + string(f.Mode) + ": not applied)"
		if f.Mode == finding.ModeRemediate {
			verb, note = "will do", ""
		}
		line(verb, f.Plan.Summary()+note)
		line("", f.Plan.CLI(f.Region))
	}
	if f.Source != finding.SourceScan {
		line("event", f.EventName+" "+f.EventID)
	}
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
