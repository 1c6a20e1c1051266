package mfa

import (
	"encoding/binary"
	"net/netip"
	"slices"
)

// coversEveryIPv4 reports whether IPv4 ranges together cover every IPv4 address (0.0.0.0/1 and
// 128.0.0.0/1, say): as trusted IPs they would skip MFA for everyone, as surely as 0.0.0.0/0.
func coversEveryIPv4(ranges []string) bool {
	type span struct{ first, last uint64 }
	var spans []span
	for _, r := range ranges {
		p, err := netip.ParsePrefix(r)
		if err != nil || !p.Addr().Is4() {
			continue
		}
		a := p.Masked().Addr().As4()
		first := uint64(binary.BigEndian.Uint32(a[:]))
		spans = append(spans, span{first, first + 1<<(32-p.Bits()) - 1})
	}
	slices.SortFunc(spans, func(x, y span) int { return int(int64(x.first) - int64(y.first)) })
	var next uint64 // the first address not yet covered
	for _, s := range spans {
		if s.first > next {
			return false
		}
		next = max(next, s.last+1)
	}
	return next > 0xFFFFFFFF
}
