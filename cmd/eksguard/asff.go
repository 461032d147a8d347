package main

import (
	"cmp"
	"encoding/json"
	"io"
	"os"

	"github.com/eksguard/eksguard/shared/asff"
	"github.com/eksguard/eksguard/shared/finding"
)

// asffWriter prints each finding as one AWS Security Finding Format
// document per line, the documents Security Hub imports (replay and scan
// --output asff).
type asffWriter struct {
	enc  *json.Encoder
	opts asff.Options
}

// newASFFWriter writes the documents of each finding's account and region;
// a finding that names no region (a replayed audit log) gets the product of
// AWS_REGION (or AWS_DEFAULT_REGION), us-east-1 when neither is set.
func newASFFWriter(w io.Writer) *asffWriter {
	region := cmp.Or(os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION"), "us-east-1")
	return &asffWriter{enc: json.NewEncoder(w), opts: asff.Options{DefaultRegion: region}}
}

// formatWriter is the writer of an --output format (replay and scan):
// json, asff, or else the table.
func formatWriter(format string, table *tableWriter, w io.Writer) findingWriter {
	switch format {
	case "json":
		return &jsonWriter{enc: json.NewEncoder(w)}
	case "asff":
		return newASFFWriter(w)
	}
	return table
}

func (w *asffWriter) write(f *finding.Finding) { _ = w.enc.Encode(asff.From(f, w.opts)) }
func (w *asffWriter) flush()                   {}
