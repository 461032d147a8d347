package rules

import (
	"cmp"
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
	"strings"
)

// IPv4 ranges that are not reachable from the public internet (the IANA
// special-purpose registry's non-global blocks), which an allowed CIDR may
// cover without opening anything to the internet. The documentation ranges
// (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) count as public: examples
// and sample events use them to stand for real public ranges.
var nonPublicV4 = mergeRanges(rangesOf(
	"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
	"192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4",
))

// publicV4 is the number of public IPv4 addresses.
var publicV4 = uint64(1)<<32 - size(nonPublicV4)

// wideV4 is how many public IPv4 addresses a public endpoint may allow,
// with no approved list, before eksguard calls it open to the internet:
// a /8 worth.
const wideV4 = uint64(1) << 24

// wideV6Bits: an IPv6 range shorter than this (a /32 is a regional
// registry's allocation to one provider) opens the endpoint to the internet.
const wideV6Bits = 32

type addrRange struct{ lo, hi uint64 } // inclusive

func rangesOf(cidrs ...string) []addrRange {
	out := make([]addrRange, len(cidrs))
	for i, c := range cidrs {
		out[i] = v4Range(netip.MustParsePrefix(c))
	}
	return out
}

func v4Range(p netip.Prefix) addrRange {
	p = p.Masked()
	a := p.Addr().As4()
	lo := uint64(a[0])<<24 | uint64(a[1])<<16 | uint64(a[2])<<8 | uint64(a[3])
	return addrRange{lo, lo + uint64(1)<<(32-p.Bits()) - 1}
}

func mergeRanges(rs []addrRange) []addrRange {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b addrRange) int { return cmp.Compare(a.lo, b.lo) })
	var out []addrRange
	for _, r := range rs {
		if n := len(out); n > 0 && r.lo <= out[n-1].hi+1 {
			out[n-1].hi = max(out[n-1].hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	return out
}

func size(rs []addrRange) uint64 {
	var n uint64
	for _, r := range rs {
		n += r.hi - r.lo + 1
	}
	return n
}

// overlap counts the addresses two merged range lists share.
func overlap(a, b []addrRange) uint64 {
	var n uint64
	for i, j := 0, 0; i < len(a) && j < len(b); {
		lo, hi := max(a[i].lo, b[j].lo), min(a[i].hi, b[j].hi)
		if lo <= hi {
			n += hi - lo + 1
		}
		if a[i].hi < b[j].hi {
			i++
		} else {
			j++
		}
	}
	return n
}

// exposure is how much of the internet a list of allowed CIDRs opens: the
// union of the ranges, not each range alone, so that 0.0.0.0/1 and
// 128.0.0.0/1 count as the whole internet.
type exposure struct {
	publicV4 uint64   // public IPv4 addresses in the union
	wideV6   []string // IPv6 ranges shorter than /32
	worldV6  bool     // ::/0 among them
	invalid  []string // entries that are not CIDRs
}

func exposureOf(cidrs []string) exposure {
	var e exposure
	var v4 []addrRange
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(strings.TrimSpace(c))
		switch {
		case err != nil:
			e.invalid = append(e.invalid, c)
		case p.Addr().Is4():
			v4 = append(v4, v4Range(p))
		case p.Bits() < wideV6Bits:
			e.wideV6 = append(e.wideV6, c)
			e.worldV6 = e.worldV6 || p.Bits() == 0
		}
	}
	u := mergeRanges(v4)
	e.publicV4 = size(u) - overlap(u, nonPublicV4)
	return e
}

// wide reports whether the CIDRs open the endpoint to the internet at large.
func (e exposure) wide() bool {
	return e.publicV4 > wideV4 || len(e.wideV6) > 0 || len(e.invalid) > 0
}

// whole reports whether they open it to every public address.
func (e exposure) whole() bool { return e.publicV4 == publicV4 || e.worldV6 }

// String says how much of the internet the CIDRs open, e.g. "the whole
// IPv4 internet" or "33,554,432 public IPv4 addresses (0.9% of the public
// IPv4 internet, a /7 worth)".
func (e exposure) String() string {
	var parts []string
	switch {
	case e.publicV4 == publicV4:
		parts = append(parts, "the whole IPv4 internet")
	case e.publicV4 > 0:
		worth := 32 - (bits.Len64(e.publicV4) - 1)
		parts = append(parts, fmt.Sprintf("%s public IPv4 addresses (%.2g%% of the public IPv4 internet, a /%d worth)",
			thousands(e.publicV4), 100*float64(e.publicV4)/float64(publicV4), worth))
	}
	switch {
	case e.worldV6:
		parts = append(parts, "the whole IPv6 internet")
	case len(e.wideV6) > 0:
		parts = append(parts, "IPv6 ranges wider than a /32 ("+strings.Join(e.wideV6, ", ")+")")
	}
	if len(e.invalid) > 0 {
		parts = append(parts, "entries that are not CIDRs ("+strings.Join(e.invalid, ", ")+")")
	}
	if len(parts) == 0 {
		return "no public addresses"
	}
	return strings.Join(parts, " and ")
}

func thousands(n uint64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
