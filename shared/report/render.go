package report

import (
	"bufio"
	"cmp"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"slices"
	"time"

	"github.com/eksguard/eksguard/shared/finding"
	"github.com/eksguard/eksguard/shared/rules"
)

//go:embed report.html.tmpl
var pageTemplate string

//go:embed style.css
var style string

// CSP allows the page's one style sheet, by its hash, and nothing else: no
// script, no inline event handler, no image, font or frame from anywhere.
var CSP = func() string {
	sum := sha256.Sum256([]byte(style))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; base-uri 'none'; form-action 'none'"
}()

var tmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"bytes": humanBytes,
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	},
}).Parse(pageTemplate))

// Write renders the report. counts are the replay's totals.
func (b *Builder) Write(w io.Writer, counts Counts) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := tmpl.Execute(bw, b.page(counts)); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

type page struct {
	CSP          string
	Style        template.CSS
	Inputs       []string
	InputsMore   int
	PolicySource string
	Digest       string
	Counts       Counts
	Findings     int64
	Plans        int64
	From, To     string
	Untimed      int64
	Errors       []string
	ErrorsMore   int64
	Severities   []bar
	Timeline     *timeline
	Clusters     topTable
	Accounts     topTable
	Actors       topTable
	Automation   []entryCount
	Rules        []ruleView
	Remedies     []*row
	RemediesMore int64
}

// bar is one labelled count with its length as a share of the largest.
type bar struct {
	Key, Label, Class string
	N                 int64
	Width             float64 // of 100
}

type topTable struct {
	Rows     []bar
	Distinct int // keys in all
	More     int // keys not listed
}

type entryCount struct {
	Entry string
	N     int64
}

type ruleView struct {
	ID, Title, Severity, Mode, Fix string
	N, Plans                       int64
	TotalIfOff                     int64
	Rows                           []*row
	More                           int64
	Actors                         []entryCount // actor name -> this rule's findings an automation entry for it removes
	Allow                          []entryCount // principal -> findings an allow entry for it removes
}

func (b *Builder) page(c Counts) *page {
	p := &page{
		CSP: CSP, Style: template.CSS(style),
		Inputs: b.inputs[:min(len(b.inputs), maxInputs)], InputsMore: max(0, len(b.inputs)-maxInputs), PolicySource: b.pol.Source(), Digest: Digest(b.pol),
		Counts: c, Findings: b.total, Plans: b.plans, Untimed: b.untimed,
		Errors: b.errs, ErrorsMore: b.nerrs - int64(len(b.errs)),
		Remedies: b.remedy.sorted(), RemediesMore: b.remedy.n - int64(len(b.remedy.items)),
	}
	if !b.first.IsZero() {
		p.From, p.To = b.first.Format(time.RFC3339), b.last.Format(time.RFC3339)
	}
	var sevMax int64
	for _, n := range b.bySev {
		sevMax = max(sevMax, n)
	}
	for s := finding.Critical; s >= finding.Info; s-- {
		p.Severities = append(p.Severities, bar{Key: s.String(), Label: s.String(), Class: s.String(), N: b.bySev[s], Width: share(b.bySev[s], sevMax)})
	}
	clusters := map[string]int64{}
	for k, n := range b.clusters {
		label := k.Name
		if label == "" {
			label = "(no cluster)"
		}
		clusters[k.Name+"/"+k.Account+"/"+k.Region+"\x00"+label+" · "+k.Account+" "+k.Region] = n
	}
	p.Clusters = top(clusters, b.lim.Top)
	p.Accounts = top(b.accounts, b.lim.Top)
	actors := map[string]int64{}
	for a, byRule := range b.actors {
		for _, n := range byRule {
			actors[a.name()] += n
		}
	}
	p.Actors = top(actors, b.lim.Top)
	for _, r := range p.Actors.Rows {
		p.Automation = append(p.Automation, entryCount{r.Key, b.removedByAutomation(r.Key, "")})
	}
	p.Timeline = b.timeline()
	for _, rule := range rules.All() {
		ra := b.rules[rule.ID]
		rv := ruleView{ID: rule.ID, Title: rule.Title, Severity: rule.Severity.String(), Mode: string(b.pol.ModeFor(rule.ID)), Fix: rule.Fix, TotalIfOff: b.total}
		if ra != nil {
			rv.N, rv.Plans, rv.TotalIfOff = ra.n, ra.plans, b.total-ra.n
			rv.Rows = ra.list.sorted()
			rv.More = ra.n - int64(len(rv.Rows))
			byActor := map[string]int64{}
			for a, byRule := range b.actors {
				if n := byRule[rule.ID]; n > 0 {
					byActor[a.name()] += n
				}
			}
			for _, r := range top(byActor, 5).Rows {
				rv.Actors = append(rv.Actors, entryCount{r.Key, b.removedByAutomation(r.Key, rule.ID)})
			}
			principals := map[string]int64{}
			for pr, n := range ra.principals {
				if pr != "" {
					principals[pr] = n
				}
			}
			for _, r := range top(principals, 5).Rows {
				rv.Allow = append(rv.Allow, entryCount{r.Key, b.removedByAllow(rule.ID, r.Key)})
			}
		}
		p.Rules = append(p.Rules, rv)
	}
	return p
}

// top lists the keys with the most findings, most first, then by key. A key
// may carry a display label after a NUL.
func top(m map[string]int64, n int) topTable {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b))
	})
	t := topTable{Distinct: len(keys)}
	if len(keys) > n {
		t.More = len(keys) - n
		keys = keys[:n]
	}
	var most int64
	if len(keys) > 0 {
		most = m[keys[0]]
	}
	for _, k := range keys {
		key, label := k, k
		for i := range len(k) {
			if k[i] == 0 {
				key, label = k[:i], k[i+1:]
				break
			}
		}
		t.Rows = append(t.Rows, bar{Key: key, Label: cmp.Or(label, "(none)"), N: m[k], Width: share(m[k], most)})
	}
	return t
}

func share(n, most int64) float64 {
	if most == 0 {
		return 0
	}
	return float64(int(1000*float64(n)/float64(most))) / 10
}

// maxInputs is how many of the paths given the page lists.
const maxInputs = 20

// bucketSizes are the timeline's bucket widths; the smallest that gives at
// most maxBuckets buckets over the findings' range is used.
var bucketSizes = []time.Duration{time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour, 91 * 24 * time.Hour, 365 * 24 * time.Hour}

const maxBuckets = 100

// Chart geometry, in SVG user units.
const (
	chartW    = 960.0
	chartH    = 180.0
	heatRow   = 18.0
	heatLabel = 250.0
)

type timeline struct {
	Bucket   string // "hour", "day", ...
	Seconds  int64
	Buckets  int
	Bars     []tbar
	Ticks    []tick
	Max      int64
	Heat     []heatRowView
	HeatH    float64
	HeatW    float64
	HeatTick []tick
}

type tbar struct {
	Key, Class, Title string
	N                 int64
	X, Y, W, H        float64
}

type tick struct {
	X      float64
	Label  string
	Anchor string // text-anchor: start, middle or end
}

func bucketName(d time.Duration) string {
	switch d {
	case time.Hour:
		return "hour"
	case 24 * time.Hour:
		return "day"
	case 7 * 24 * time.Hour:
		return "week"
	}
	if d < 24*time.Hour {
		return fmt.Sprintf("%d-hour", int(d/time.Hour))
	}
	return fmt.Sprintf("%d-day", int(d/(24*time.Hour)))
}

type heatRowView struct {
	Rule  string
	Y, TY float64
	Cells []tbar
}

func (b *Builder) timeline() *timeline {
	if b.first.IsZero() {
		return nil
	}
	span := b.last.Sub(b.first)
	size := bucketSizes[len(bucketSizes)-1]
	for _, s := range bucketSizes {
		if int64(span/s)+2 <= maxBuckets {
			size = s
			break
		}
	}
	secs := int64(size / time.Second)
	start := b.first.Unix() / secs * secs
	n := int((b.last.Unix()-start)/secs) + 1
	sev := make([][finding.Critical + 1]int64, n)
	byRule := map[string][]int64{}
	for h, ha := range b.hours {
		i := int((h*3600 - start) / secs)
		for s, c := range ha.sev {
			sev[i][s] += c
		}
		for r, c := range ha.rule {
			if byRule[r] == nil {
				byRule[r] = make([]int64, n)
			}
			byRule[r][i] += c
		}
	}
	tl := &timeline{Bucket: bucketName(size), Seconds: secs, Buckets: n}
	for _, s := range sev {
		var tot int64
		for _, c := range s {
			tot += c
		}
		tl.Max = max(tl.Max, tot)
	}
	w := chartW / float64(n)
	label := func(i int) string {
		t := time.Unix(start+int64(i)*secs, 0).UTC()
		if size < 24*time.Hour {
			return t.Format("2006-01-02 15:04")
		}
		return t.Format("2006-01-02")
	}
	key := func(i int) string { return time.Unix(start+int64(i)*secs, 0).UTC().Format(time.RFC3339) }
	for i, s := range sev {
		y := chartH
		for lv := finding.Critical; lv >= finding.Info; lv-- {
			c := s[lv]
			if c == 0 {
				continue
			}
			h := chartH * float64(c) / float64(tl.Max)
			y -= h
			tl.Bars = append(tl.Bars, tbar{
				Key: key(i) + "/" + lv.String(), Class: lv.String(), N: c,
				Title: fmt.Sprintf("%s: %d %s", label(i), c, lv),
				X:     round(float64(i)*w + w*0.1), Y: round(y), W: round(w * 0.8), H: round(h),
			})
		}
	}
	tl.Ticks = ticks(n, func(i int) float64 { return round(float64(i)*w + w/2) }, label)
	// The rule heatmap: one row per rule with findings, catalogue order.
	cw := (chartW - heatLabel) / float64(n)
	var most int64
	for _, counts := range byRule {
		for _, c := range counts {
			most = max(most, c)
		}
	}
	for _, rule := range rules.All() {
		counts := byRule[rule.ID]
		if counts == nil {
			continue
		}
		y := float64(len(tl.Heat)) * heatRow
		hr := heatRowView{Rule: rule.ID, Y: y, TY: y + heatRow*0.7}
		for i, c := range counts {
			if c == 0 {
				continue
			}
			hr.Cells = append(hr.Cells, tbar{
				Key: key(i) + "/" + rule.ID, Class: "heat" + level(c, most), N: c,
				Title: fmt.Sprintf("%s, %s: %d", rule.ID, label(i), c),
				X:     round(heatLabel + float64(i)*cw), Y: y + 1, W: round(max(cw-1, 1)), H: heatRow - 2,
			})
		}
		tl.Heat = append(tl.Heat, hr)
	}
	tl.HeatH = float64(len(tl.Heat))*heatRow + 20
	tl.HeatW = chartW
	tl.HeatTick = ticks(n, func(i int) float64 { return round(heatLabel + float64(i)*cw + cw/2) }, label)
	return tl
}

// level buckets a count into one of five shades, by its share of the most.
func level(c, most int64) string {
	return fmt.Sprint(min(4, int(5*float64(c-1)/float64(most))))
}

// ticks labels the first, last and a few buckets between.
func ticks(n int, x func(int) float64, label func(int) string) []tick {
	idx := []int{0}
	if n > 1 {
		for _, q := range []int{n / 3, 2 * n / 3, n - 1} {
			if q > idx[len(idx)-1] {
				idx = append(idx, q)
			}
		}
	}
	out := make([]tick, len(idx))
	for i, j := range idx {
		out[i] = tick{X: x(j), Label: label(j), Anchor: "middle"}
	}
	out[0].Anchor = "start"
	if len(out) > 1 {
		out[len(out)-1].Anchor = "end"
	}
	return out
}

func round(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
