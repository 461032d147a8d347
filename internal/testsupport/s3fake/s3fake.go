// Package s3fake is an in-process S3 endpoint for tests: buckets of objects
// served over HTTP with path-style addressing, ListObjectsV2 (prefix,
// delimiter and common prefixes, max-keys, continuation tokens) and
// GetObject, as the S3 REST API reference describes them, with faults to
// inject (an object answering 500, a prefix denied) and a log of the
// requests it answered.
package s3fake

import (
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is the fake. Set objects and faults before the requests that
// should see them; all methods are safe for concurrent use.
type Server struct {
	*httptest.Server
	// MaxKeys caps the keys and common prefixes of one listing page, as
	// S3's 1,000 does (default 1,000).
	MaxKeys int
	// NoCommonPrefixes answers a listing with a delimiter as s3rver 3.7
	// does: without the common prefixes, and without the keys rolled up
	// into them.
	NoCommonPrefixes bool

	mu      sync.Mutex
	objects map[string]map[string][]byte // bucket -> key -> body
	fail    map[string]int               // bucket/key -> 500s left to answer (-1: always)
	deny    []string                     // bucket/prefix denied to list and get
	lists   []List
	gets    []string
}

// List is one ListObjectsV2 request the fake answered.
type List struct {
	Bucket, Prefix, Delimiter string
	Continued                 bool // it carried a continuation token
}

// New starts a fake; close it with Close.
func New() *Server {
	s := &Server{MaxKeys: 1000, objects: map[string]map[string][]byte{}, fail: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Put stores an object.
func (s *Server) Put(bucket, key string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.objects[bucket] == nil {
		s.objects[bucket] = map[string][]byte{}
	}
	s.objects[bucket][key] = body
}

// Fail makes the next n GETs of an object answer 500 InternalError; n < 0 makes all of them.
func (s *Server) Fail(bucket, key string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[bucket+"/"+key] = n
}

// Deny answers 403 AccessDenied to listings and GETs under bucket/prefix.
func (s *Server) Deny(bucket, prefix string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deny = append(s.deny, bucket+"/"+prefix)
}

// Lists returns the listing requests answered so far, in order.
func (s *Server) Lists() []List {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]List(nil), s.lists...)
}

// Gets returns the keys of the GETs answered so far (bucket/key), sorted.
func (s *Server) Gets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append([]string(nil), s.gets...)
	sort.Strings(out)
	return out
}

func (s *Server) denied(path string) bool {
	for _, d := range s.deny {
		if strings.HasPrefix(path, d) {
			return true
		}
	}
	return false
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.")
		return
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	s.mu.Lock()
	locked := true
	defer func() {
		if locked {
			s.mu.Unlock()
		}
	}()
	objs, ok := s.objects[bucket]
	if !ok {
		writeError(w, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
		return
	}
	if key == "" {
		if r.URL.Query().Get("list-type") != "2" {
			writeError(w, http.StatusNotImplemented, "NotImplemented", "only ListObjectsV2 (list-type=2) is served")
			return
		}
		s.list(w, r, bucket, objs)
		return
	}
	s.gets = append(s.gets, bucket+"/"+key)
	if s.denied(bucket + "/" + key) {
		writeError(w, http.StatusForbidden, "AccessDenied", "Access Denied")
		return
	}
	if n, ok := s.fail[bucket+"/"+key]; ok && n != 0 {
		s.fail[bucket+"/"+key] = n - 1
		writeError(w, http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
		return
	}
	body, ok := objs[key]
	if !ok {
		writeError(w, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
		return
	}
	s.mu.Unlock() // bodies are never changed in place, only replaced by Put
	locked = false
	h := w.Header()
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Content-Type", "application/json")
	if strings.HasSuffix(key, ".gz") {
		h.Set("Content-Encoding", "gzip") // as CloudTrail stores its log files
	}
	h.Set("ETag", fmt.Sprintf(`"%x"`, len(body)))
	h.Set("Last-Modified", time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC).Format(http.TimeFormat))
	_, _ = w.Write(body)
}

type listResult struct {
	XMLName               xml.Name       `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
	Name                  string         `xml:"Name"`
	Prefix                string         `xml:"Prefix"`
	Delimiter             string         `xml:"Delimiter,omitempty"`
	MaxKeys               int            `xml:"MaxKeys"`
	KeyCount              int            `xml:"KeyCount"`
	IsTruncated           bool           `xml:"IsTruncated"`
	ContinuationToken     string         `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string         `xml:"NextContinuationToken,omitempty"`
	Contents              []content      `xml:"Contents"`
	CommonPrefixes        []commonPrefix `xml:"CommonPrefixes"`
}

type content struct {
	Key          string `xml:"Key"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int    `xml:"Size"`
	StorageClass string `xml:"StorageClass"`
}

type commonPrefix struct {
	Prefix string `xml:"Prefix"`
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, bucket string, objs map[string][]byte) {
	q := r.URL.Query()
	prefix, delim, token := q.Get("prefix"), q.Get("delimiter"), q.Get("continuation-token")
	s.lists = append(s.lists, List{Bucket: bucket, Prefix: prefix, Delimiter: delim, Continued: token != ""})
	if s.denied(bucket + "/" + prefix) {
		writeError(w, http.StatusForbidden, "AccessDenied", "Access Denied")
		return
	}
	maxKeys := s.MaxKeys
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "InvalidArgument", "Provided max-keys not an integer or within integer range")
			return
		}
		maxKeys = min(maxKeys, n)
	}
	after := ""
	if token != "" {
		b, err := base64.StdEncoding.DecodeString(token)
		if err != nil {
			writeError(w, http.StatusBadRequest, "InvalidArgument", "The continuation token provided is incorrect")
			return
		}
		after = string(b)
	}
	keys := make([]string, 0, len(objs))
	for k := range objs {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	res := listResult{Name: bucket, Prefix: prefix, Delimiter: delim, MaxKeys: maxKeys, ContinuationToken: token}
	last := ""
	for _, k := range keys {
		if after != "" && (k <= after || strings.HasSuffix(after, delim) && delim != "" && strings.HasPrefix(k, after)) {
			continue
		}
		entry, isPrefix := k, false
		if delim != "" {
			if i := strings.Index(k[len(prefix):], delim); i >= 0 {
				entry, isPrefix = k[:len(prefix)+i+len(delim)], true
			}
		}
		if isPrefix && entry == last {
			continue // rolled up into the common prefix already listed
		}
		if isPrefix && s.NoCommonPrefixes {
			continue
		}
		if res.KeyCount == maxKeys {
			res.IsTruncated = true
			res.NextContinuationToken = base64.StdEncoding.EncodeToString([]byte(last))
			break
		}
		res.KeyCount++
		last = entry
		if isPrefix {
			res.CommonPrefixes = append(res.CommonPrefixes, commonPrefix{Prefix: entry})
		} else {
			res.Contents = append(res.Contents, content{Key: k, Size: len(objs[k]), StorageClass: "STANDARD",
				LastModified: "2026-11-30T00:00:00.000Z", ETag: fmt.Sprintf(`"%x"`, len(objs[k]))})
		}
	}
	w.Header().Set("Content-Type", "application/xml")
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(res)
}

type errorBody struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	RequestID string   `xml:"RequestId"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(errorBody{Code: code, Message: msg, RequestID: "s3fake"})
}
