package cloudtrail

import "bytes"

// Peek finds an item's eventSource and eventName without decoding it, so
// that out-of-scope records can be skipped cheaply. It looks at the first
// occurrence of each key, which in CloudTrail records and EventBridge
// envelopes is the record's own. The slices point into raw.
//
// It finds both keys in one pass: they share the byte at offset 2, the 'v'
// of "event, and at each 'v' it compares both keys; as the scan goes
// forward, the first match of each is its first occurrence, what
// bytes.Index would find. In the benchmark archive a record has about 5
// 'v's up to its eventName, 4 of them the keys eventVersion, eventTime,
// eventSource and eventName, against 3.4 capital S and 2.8 capital N for
// two separate searches (see indexKey), each from the start. A record
// opening with its eventVersion, as CloudTrail writes them, is scanned from
// after that key, where neither key can start.
func Peek(raw []byte) (eventSource, eventName []byte) {
	src, name := -1, -1
	i := 2
	if bytes.HasPrefix(raw, firstKey) {
		i = len(firstKey)
	}
	for i < len(raw) {
		j := bytes.IndexByte(raw[i:], 'v')
		if j < 0 {
			break
		}
		i += j + 1
		k := i - 3 // where a key with this 'v' would start
		if k+len(eventNameKey) > len(raw) || raw[k] != '"' {
			continue
		}
		switch raw[k+6] { // the byte that tells the two keys apart
		case 'S':
			if src < 0 && bytes.HasPrefix(raw[k:], eventSourceKey) {
				src = k
			}
		case 'N':
			if name < 0 && bytes.HasPrefix(raw[k:], eventNameKey) {
				name = k
			}
		}
		if src >= 0 && name >= 0 {
			break
		}
	}
	return stringAfter(raw, src, eventSourceKey), stringAfter(raw, name, eventNameKey)
}

var (
	eventSourceKey = []byte(`"eventSource"`)
	eventNameKey   = []byte(`"eventName"`)
	firstKey       = []byte(`{"eventVersion"`)
)

// indexKey is bytes.Index(raw, key) for JSON keys. bytes.Index is slow on
// them: their first byte, the quote, is the commonest byte of JSON. So
// this looks with IndexByte (vectorised) for the key's byte at offset at,
// chosen rare in CloudTrail text (the capital of "eventSource" and
// "eventName"), and compares the whole key only there.
func indexKey(raw, key []byte, at int) int {
	c := key[at]
	for i := at; i < len(raw); {
		j := bytes.IndexByte(raw[i:], c)
		if j < 0 {
			return -1
		}
		if k := i + j - at; bytes.HasPrefix(raw[k:], key) {
			return k
		}
		i += j + 1
	}
	return -1
}

func peekString(raw, key []byte) []byte {
	return stringAfter(raw, indexKey(raw, key, 6), key)
}

// stringAfter returns the string value of the key found at raw[i:] (nil
// when i < 0 or the value is not a string).
func stringAfter(raw []byte, i int, key []byte) []byte {
	if i < 0 {
		return nil
	}
	rest := raw[i+len(key):]
	j := 0
	if len(rest) > 1 && rest[0] == ':' && rest[1] == '"' { // compact JSON
		j = 1
	}
	for j < len(rest) && (rest[j] == ' ' || rest[j] == ':' || rest[j] == '\n' || rest[j] == '\t' || rest[j] == '\r') {
		j++
	}
	if j >= len(rest) || rest[j] != '"' {
		return nil
	}
	rest = rest[j+1:]
	k := bytes.IndexByte(rest, '"')
	if k < 0 {
		return nil
	}
	return rest[:k]
}

// IsEnvelope reports whether a raw item is an EventBridge envelope rather than a bare record.
func IsEnvelope(raw []byte) bool { return isEnvelope(raw) }

// isEnvelope reports whether a JSON object looks like an EventBridge event:
// it has the keys "detail-type" and "detail". (The first is looked for
// through its 'y', which is rarer than its quote; see indexKey.)
func isEnvelope(raw []byte) bool {
	return indexKey(raw, detailTypeKey, 9) >= 0 && bytes.Contains(raw, detailKey)
}

var (
	detailTypeKey = []byte(`"detail-type"`)
	detailKey     = []byte(`"detail"`)
)

var eventTimeKey = []byte(`"eventTime"`)

// PeekTime returns a raw record's eventTime string without decoding the
// record (nil if it has none), for tools that select records by time.
func PeekTime(raw []byte) []byte { return peekString(raw, eventTimeKey) }
