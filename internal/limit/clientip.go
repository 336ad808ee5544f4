package limit

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Proxies are the networks of trusted reverse proxies: only a peer in one of
// them is believed about X-Forwarded-For and X-Forwarded-Proto.
type Proxies []netip.Prefix

// ParseProxies reads comma-separated CIDRs or bare addresses
// ("127.0.0.1/32, 10.0.0.0/8, ::1"); "" is no trusted proxy.
func ParseProxies(s string) (Proxies, error) {
	var ps Proxies
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			ps = append(ps, netip.PrefixFrom(p.Addr().Unmap(), unmappedBits(p)).Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil || a.Zone() != "" {
			return nil, fmt.Errorf("trusted proxy %q: want a CIDR such as 10.0.0.0/8 or an address", f)
		}
		a = a.Unmap()
		ps = append(ps, netip.PrefixFrom(a, a.BitLen()))
	}
	return ps, nil
}

// unmappedBits keeps a ::ffff:a.b.c.d/n prefix meaningful once unmapped.
func unmappedBits(p netip.Prefix) int {
	if p.Addr().Is4In6() {
		if b := p.Bits() - 96; b >= 0 {
			return b
		}
		return 0
	}
	return p.Bits()
}

// Trusts reports whether a is a trusted proxy.
func (ps Proxies) Trusts(a netip.Addr) bool {
	a = a.WithZone("").Unmap()
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// String is the list as ParseProxies reads it.
func (ps Proxies) String() string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// ClientIP names the client of a request from its peer address (an
// http.Request's RemoteAddr) and its X-Forwarded-For header values, in
// order. A peer that is not a trusted proxy is the client, whatever it says.
// Behind trusted proxies the client is the rightmost X-Forwarded-For entry
// that is not itself a trusted proxy: entries left of it were written by the
// client and prove nothing. An entry that is not an address stops the walk
// at the nearest hop known for sure. viaProxy is true when the peer is a
// trusted proxy (so its X-Forwarded-Proto may be believed). The address is
// invalid only when remoteAddr is not an address (e.g. a Unix socket).
func (ps Proxies) ClientIP(remoteAddr string, forwardedFor []string) (client netip.Addr, viaProxy bool) {
	peer, ok := parseHop(remoteAddr)
	if !ok || !ps.Trusts(peer) {
		return peer, false
	}
	client = peer
	for i := len(forwardedFor) - 1; i >= 0; i-- {
		entries := strings.Split(forwardedFor[i], ",")
		for j := len(entries) - 1; j >= 0; j-- {
			hop, ok := parseHop(strings.TrimSpace(entries[j]))
			if !ok {
				return client, true
			}
			client = hop
			if !ps.Trusts(hop) {
				return client, true
			}
		}
	}
	return client, true
}

// parseHop reads "addr", "addr:port" or "[v6addr]:port"; the address comes
// back without zone, and IPv4-mapped IPv6 as IPv4.
func parseHop(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.WithZone("").Unmap(), true
	}
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.WithZone("").Unmap(), true
}

// Key is the limit key of a client address: the address itself for IPv4,
// its /64 network for IPv6 (one subscriber usually holds a whole /64, so
// keying single IPv6 addresses would let one client rotate without end).
func Key(a netip.Addr) string {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
