package cloudtrail

import "testing"

// BenchmarkDecodeEnvelope is the decoding a family Lambda does per event:
// an EventBridge envelope around an in-scope record, typed parameters included.
func BenchmarkDecodeEnvelope(b *testing.B) {
	raw := []byte(envelopeAssociate)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := DecodeEvent(raw)
		if err != nil || r.Params == nil {
			b.Fatalf("params %v, err %v", r.Params, err)
		}
	}
}

// BenchmarkDecodeRecord is the decoding a replay does per in-scope record:
// a bare record from a log file, typed parameters included.
func BenchmarkDecodeRecord(b *testing.B) {
	raw := []byte(base)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := DecodeEvent(raw)
		if err != nil || r.Params == nil {
			b.Fatalf("params %v, err %v", r.Params, err)
		}
	}
}
