package cloudtrail

import (
	"encoding/json"
	"math/bits"
	"strings"
	"unicode/utf8"
)

// scanner is the fast path of the decoder: a single pass over one JSON
// text that validates all of it and fills the Record (or parameters)
// fields directly, without reflection. Decoded strings are substrings of
// one copy of the input, so a record costs one string allocation however
// many fields it has.
//
// It only handles the plain shapes real CloudTrail writes. Every method
// returns false as soon as the input is anything else (a syntax error, a
// type mismatch, a duplicate or case-folded key, nesting deeper than
// maxDepth): the caller then decodes the same input with encoding/json,
// which decides what it means and words the error. So the fast path never
// changes a result; it only skips work when it can prove the outcome.
type scanner struct {
	s   string
	pos int
}

// maxDepth bounds the nesting the fast path follows (encoding/json allows
// 10000; deeper input falls back to it).
const maxDepth = 512

// ws skips whitespace and returns the next byte, or 0 at the end.
func (s *scanner) ws() byte {
	for s.pos < len(s.s) {
		switch c := s.s[s.pos]; c {
		case ' ', '\n', '\r', '\t':
			s.pos++
		default:
			return c
		}
	}
	return 0
}

// end reports whether only whitespace is left.
func (s *scanner) end() bool {
	s.ws()
	return s.pos == len(s.s)
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// le64 loads 8 bytes little-endian (one load instruction on amd64/arm64).
func le64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// stopMask marks (in the high bit of each byte) the bytes of x that end a
// fast run inside a JSON string: '"', '\\', control characters, and, when
// nonASCII is set, bytes >= 0x80. Only the lowest marked byte is exact; the
// bit tricks may mark bytes above it too.
func stopMask(x uint64, nonASCII bool) uint64 {
	q := x ^ (lsb * '"')
	b := x ^ (lsb * '\\')
	m := (q - lsb) &^ q
	m |= (b - lsb) &^ b
	m |= (x - lsb*0x20) &^ x
	if nonASCII {
		m |= x
	}
	return m & msb
}

// String kinds, from cheapest to decode.
const (
	strASCII   = iota // no escapes, ASCII only: the bytes are the value
	strUTF8           // no escapes, valid UTF-8: the bytes are the value
	strEscaped        // escapes or invalid UTF-8: needs unquoting
)

// str scans the string whose opening quote is at pos and moves past it.
// It returns the contents' bounds and kind; ok is false for invalid JSON
// (a control character, a bad escape, no closing quote). With check
// false the kind is not worked out (skipping needs only validity).
func (s *scanner) str(check bool) (start, end, kind int, ok bool) {
	d := s.s
	i := s.pos + 1
	start = i
	for {
		for i+8 <= len(d) {
			if m := stopMask(le64(d, i), check); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i+8 > len(d) { // the last few bytes, one by one
			for i < len(d) {
				if c := d[i]; c == '"' || c == '\\' || c < 0x20 || (check && c >= 0x80) {
					break
				}
				i++
			}
		}
		if i >= len(d) {
			return 0, 0, 0, false
		}
		switch c := d[i]; {
		case c == '"':
			s.pos = i + 1
			if kind == strUTF8 && !utf8.ValidString(d[start:i]) {
				kind = strEscaped
			}
			return start, i, kind, true
		case c == '\\':
			if i+1 >= len(d) {
				return 0, 0, 0, false
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(d) || !isHex(d[i+2]) || !isHex(d[i+3]) || !isHex(d[i+4]) || !isHex(d[i+5]) {
					return 0, 0, 0, false
				}
				i += 6
			default:
				return 0, 0, 0, false
			}
			kind = strEscaped
		case c < 0x20:
			return 0, 0, 0, false
		default: // >= 0x80, only when checking
			if kind == strASCII {
				kind = strUTF8
			}
			i++
		}
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// literal consumes lit (true, false or null) at pos.
func (s *scanner) literal(lit string) bool {
	if !strings.HasPrefix(s.s[s.pos:], lit) {
		return false
	}
	s.pos += len(lit)
	return true
}

// number consumes a JSON number at pos.
func (s *scanner) number() bool {
	d, i := s.s, s.pos
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i >= len(d):
		return false
	case d[i] == '0':
		i++
	case '1' <= d[i] && d[i] <= '9':
		for i < len(d) && isDigit(d[i]) {
			i++
		}
	default:
		return false
	}
	if i < len(d) && d[i] == '.' {
		i++
		j := i
		for i < len(d) && isDigit(d[i]) {
			i++
		}
		if i == j {
			return false
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		j := i
		for i < len(d) && isDigit(d[i]) {
			i++
		}
		if i == j {
			return false
		}
	}
	s.pos = i
	return true
}

// skip validates and consumes one value of any kind.
func (s *scanner) skip(depth int) bool {
	switch c := s.ws(); c {
	case '"':
		_, _, _, ok := s.str(false)
		return ok
	case '{':
		if depth >= maxDepth {
			return false
		}
		s.pos++
		if s.ws() == '}' {
			s.pos++
			return true
		}
		for {
			if s.ws() != '"' {
				return false
			}
			if _, _, _, ok := s.str(false); !ok || s.ws() != ':' {
				return false
			}
			s.pos++
			if !s.skip(depth + 1) {
				return false
			}
			switch s.ws() {
			case ',':
				s.pos++
			case '}':
				s.pos++
				return true
			default:
				return false
			}
		}
	case '[':
		if depth >= maxDepth {
			return false
		}
		s.pos++
		if s.ws() == ']' {
			s.pos++
			return true
		}
		for {
			if !s.skip(depth + 1) {
				return false
			}
			switch s.ws() {
			case ',':
				s.pos++
			case ']':
				s.pos++
				return true
			default:
				return false
			}
		}
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		if c == '-' || isDigit(c) {
			return s.number()
		}
		return false
	}
}

// raw consumes one value and returns its text, as encoding/json hands it
// to an Unmarshaler (no surrounding whitespace).
func (s *scanner) raw(depth int) (string, bool) {
	s.ws()
	start := s.pos
	if !s.skip(depth) {
		return "", false
	}
	return s.s[start:s.pos], true
}

// null consumes a null if one is next.
func (s *scanner) null() bool {
	if s.ws() == 'n' && s.literal("null") {
		return true
	}
	return false
}

// object walks the object at pos, calling field with each key and the
// scanner at the key's value; field must consume the value. Keys must be
// plain ASCII (anything else could match a field through encoding/json's
// escape handling or Unicode case folding) and appear at most once per
// object among the fields the caller decodes: field reports duplicates by
// returning false.
func (s *scanner) object(depth int, field func(key string) bool) bool {
	if depth >= maxDepth || s.ws() != '{' {
		return false
	}
	s.pos++
	if s.ws() == '}' {
		s.pos++
		return true
	}
	for {
		if s.ws() != '"' {
			return false
		}
		start, end, kind, ok := s.str(true)
		if !ok || kind != strASCII || s.ws() != ':' {
			return false
		}
		s.pos++
		if !field(s.s[start:end]) {
			return false
		}
		switch s.ws() {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return true
		default:
			return false
		}
	}
}

// string decodes a string value into dst; null leaves dst alone, as
// encoding/json does. Other types are a type error (left to encoding/json).
func (s *scanner) string(dst *string) bool {
	switch s.ws() {
	case '"':
		start, end, kind, ok := s.str(true)
		if !ok {
			return false
		}
		if kind != strEscaped {
			*dst = s.s[start:end]
			return true
		}
		// Escapes are rare in CloudTrail; encoding/json decodes them exactly.
		var v string
		if json.Unmarshal([]byte(s.s[start-1:end+1]), &v) != nil {
			return false
		}
		*dst = v
		return true
	case 'n':
		return s.literal("null")
	}
	return false
}

// strings decodes an array of strings. null makes dst nil and [] an empty,
// non-nil slice, as encoding/json does. Null elements fall back.
func (s *scanner) strings(dst *[]string) bool {
	switch s.ws() {
	case 'n':
		*dst = nil
		return s.literal("null")
	case '[':
	default:
		return false
	}
	s.pos++
	out := []string{}
	if s.ws() == ']' {
		s.pos++
		*dst = out
		return true
	}
	for {
		if s.ws() != '"' {
			return false
		}
		var v string
		if !s.string(&v) {
			return false
		}
		out = append(out, v)
		switch s.ws() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			*dst = out
			return true
		default:
			return false
		}
	}
}

// boolean and timestamp hand the next value's text to the field's
// UnmarshalJSON, as encoding/json does (it passes the exact value text,
// "null" included).
func (s *scanner) boolean(dst *Bool) bool {
	v, ok := s.raw(0)
	return ok && dst.UnmarshalJSON([]byte(v)) == nil
}

func (s *scanner) timestamp(dst *Time) bool {
	v, ok := s.raw(0)
	return ok && dst.UnmarshalJSON([]byte(v)) == nil
}

// boolPtr decodes a *Bool field: null sets it to nil, anything else goes
// through Bool.UnmarshalJSON.
func (s *scanner) boolPtr(dst **Bool) bool {
	if s.null() {
		*dst = nil
		return true
	}
	if *dst == nil {
		*dst = new(Bool)
	}
	return s.boolean(*dst)
}

// once records key bit in seen and reports whether it was new.
func once(seen *uint32, bit uint32) bool {
	if *seen&bit != 0 {
		return false
	}
	*seen |= bit
	return true
}

// folds reports whether key matches one of names only case-insensitively,
// which encoding/json would accept as that field: the fast path then
// defers to it. (Keys are ASCII here, see object.)
func folds(key string, names []string) bool {
	for _, n := range names {
		if len(n) == len(key) && strings.EqualFold(n, key) {
			return true
		}
	}
	return false
}
