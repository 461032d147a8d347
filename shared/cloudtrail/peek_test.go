package cloudtrail

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// indexKey must find exactly what bytes.Index finds.
func TestIndexKeyIsBytesIndex(t *testing.T) {
	keys := []struct {
		key []byte
		at  int
	}{{eventSourceKey, 6}, {eventNameKey, 6}, {detailTypeKey, 9}}
	// Fragments that look like the keys, so that candidates fail in every way.
	parts := []string{`"eventSource"`, `"eventName"`, `"detail-type"`, `"detail"`, `eventSource"`, `"eventSourc`,
		`"eventSourceArn"`, `"eventNames"`, `Source`, `S`, `N`, `y`, `"`, `:`, `"x":"ASIASNSNS",`, `{"a":"b"}`, ` `, `\"`}
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 20000 {
		var b bytes.Buffer
		for range rng.IntN(12) {
			b.WriteString(parts[rng.IntN(len(parts))])
		}
		raw := b.Bytes()
		if n%7 == 0 && len(raw) > 0 { // cut anywhere, keys included
			raw = raw[:rng.IntN(len(raw))]
		}
		for _, k := range keys {
			if got, want := indexKey(raw, k.key, k.at), bytes.Index(raw, k.key); got != want {
				t.Fatalf("indexKey(%q, %s) = %d, bytes.Index says %d", raw, k.key, got, want)
			}
		}
	}
}

func TestPeekFindsTheFirstOccurrence(t *testing.T) {
	tests := []struct{ name, raw, src, event string }{
		{"record", `{"eventSource":"eks.amazonaws.com","eventName":"CreateCluster"}`, "eks.amazonaws.com", "CreateCluster"},
		{"name first, spaces", `{"eventName" : "X", "eventSource":` + "\n" + `"S"}`, "S", "X"},
		{"envelope", `{"detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":"iam.amazonaws.com","eventName":"AttachRolePolicy"}}`,
			"iam.amazonaws.com", "AttachRolePolicy"},
		{"key at the start", `"eventSource":"a","eventName":"b"`, "a", "b"},
		{"capitals before the keys", `{"accessKeyId":"ASIASNSN","arn":"NS","eventSource":"s3.amazonaws.com","eventName":"GetObject"}`,
			"s3.amazonaws.com", "GetObject"},
		{"longer keys are not the keys", `{"eventSourceArn":"x","eventNames":"y","eventSource":"a","eventName":"b"}`, "a", "b"},
		{"first occurrence wins, even a non-string", `{"eventSource":1,"eventSource":"a","eventName":"b"}`, "", "b"},
		{"absent", `{"source":"aws.eks"}`, "", ""},
		{"truncated value", `{"eventSource":"eks.amaz`, "", ""},
	}
	for _, tt := range tests {
		src, name := Peek([]byte(tt.raw))
		if string(src) != tt.src || string(name) != tt.event {
			t.Errorf("%s: Peek = %q, %q; want %q, %q", tt.name, src, name, tt.src, tt.event)
		}
	}
}

func TestIsEnvelope(t *testing.T) {
	for raw, want := range map[string]bool{
		envelopeAssociate:                 true,
		`{"detail-type":"x","detail":{}}`: true,
		`{"detail-type":"x"}`:             false,
		`{"detail":{}}`:                   false,
		`{"detailType":"x","detail":{}}`:  false,
		base:                              false,
	} {
		if got := isEnvelope([]byte(raw)); got != want {
			t.Errorf("isEnvelope(%.60s) = %v, want %v", raw, got, want)
		}
	}
}

func FuzzIndexKey(f *testing.F) {
	f.Add([]byte(base))
	f.Add([]byte(`"eventSource""eventName""detail-type"`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, k := range []struct {
			key []byte
			at  int
		}{{eventSourceKey, 6}, {eventNameKey, 6}, {detailTypeKey, 9}} {
			if got, want := indexKey(raw, k.key, k.at), bytes.Index(raw, k.key); got != want {
				t.Fatalf("indexKey(%q, %s) = %d, bytes.Index says %d", raw, k.key, got, want)
			}
		}
	})
}

// peekByIndex is what Peek promises, written the obvious way: the value
// after the first occurrence of each key, as bytes.Index finds it.
func peekByIndex(raw []byte) (eventSource, eventName []byte) {
	return stringAfter(raw, bytes.Index(raw, eventSourceKey), eventSourceKey),
		stringAfter(raw, bytes.Index(raw, eventNameKey), eventNameKey)
}

// Peek's single pass must find what two bytes.Index searches find.
func TestPeekIsTwoIndexSearches(t *testing.T) {
	parts := []string{`"eventSource"`, `"eventName"`, `"eventSource":"a"`, `"eventName":"b"`, `"eventSource":"c",`,
		`"eventName": "d"`, `eventSource"`, `"eventNam`, `"eventSourceArn"`, `"eventNames"`, `"eventVersion":"1.09"`,
		`"ev`, `v`, `vv`, `e`, `"`, `:`, `,`, `{"a":"v"}`, ` `, `\"`, `"invokedBy":"x"`, `entSource"`, `entName"`}
	rng := rand.New(rand.NewPCG(3, 4))
	for n := range 50000 {
		var b bytes.Buffer
		if n%3 == 0 { // a record's first key, after which Peek starts
			b.WriteString(`{"eventVersion"`)
		}
		for range rng.IntN(14) {
			b.WriteString(parts[rng.IntN(len(parts))])
		}
		raw := b.Bytes()
		if n%5 == 0 && len(raw) > 0 { // cut anywhere, keys and values included
			raw = raw[:rng.IntN(len(raw))]
		}
		src, name := Peek(raw)
		wantSrc, wantName := peekByIndex(raw)
		if !bytes.Equal(src, wantSrc) || !bytes.Equal(name, wantName) || (src == nil) != (wantSrc == nil) || (name == nil) != (wantName == nil) {
			t.Fatalf("Peek(%q) = %q, %q; want %q, %q", raw, src, name, wantSrc, wantName)
		}
	}
}

func FuzzPeek(f *testing.F) {
	f.Add([]byte(base))
	f.Add([]byte(envelopeAssociate))
	f.Add([]byte(`"eventName":"b","eventSource":"a"`))
	f.Add([]byte(`{"eventVersion""eventSource":"a"`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		src, name := Peek(raw)
		wantSrc, wantName := peekByIndex(raw)
		if !bytes.Equal(src, wantSrc) || !bytes.Equal(name, wantName) || (src == nil) != (wantSrc == nil) || (name == nil) != (wantName == nil) {
			t.Fatalf("Peek(%q) = %q, %q; want %q, %q", raw, src, name, wantSrc, wantName)
		}
	})
}

func TestPeek(t *testing.T) {
	src, name := Peek([]byte(`{"userIdentity":{"type":"Root"},"eventSource" : "iam.amazonaws.com","eventName":"AttachRolePolicy","requestParameters":{"eventSource":"x"}}`))
	if string(src) != "iam.amazonaws.com" || string(name) != "AttachRolePolicy" {
		t.Errorf("Peek = %q, %q", src, name)
	}
	src, name = Peek([]byte(`{"eventSourceArn":"x"}`))
	if src != nil || name != nil {
		t.Errorf("Peek of a record without the keys = %q, %q", src, name)
	}
}
