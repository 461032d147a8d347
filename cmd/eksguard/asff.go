package main

import (
	"encoding/json"
	"io"

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

func newASFFWriter(w io.Writer) *asffWriter { return &asffWriter{enc: json.NewEncoder(w)} }

func (w *asffWriter) write(f *finding.Finding) { _ = w.enc.Encode(asff.From(f, w.opts)) }
func (w *asffWriter) flush()                   {}
