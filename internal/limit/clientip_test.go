package limit

import (
	"net/netip"
	"testing"
)

func TestParseProxies(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"", "", false},
		{" , ", "", false},
		{"127.0.0.1/32", "127.0.0.1/32", false},
		{"10.1.2.3/8, 192.168.0.1", "10.0.0.0/8,192.168.0.1/32", false},
		{"::1, fd00::/8", "::1/128,fd00::/8", false},
		{"::ffff:10.0.0.0/104", "10.0.0.0/8", false},
		{"::ffff:10.0.0.1", "10.0.0.1/32", false},
		{"localhost", "", true},
		{"10.0.0.0/33", "", true},
		{"fe80::1%eth0", "", true},
		{"127.0.0.1/32,garbage", "", true},
	}
	for _, tt := range tests {
		ps, err := ParseProxies(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseProxies(%q): err = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && ps.String() != tt.want {
			t.Errorf("ParseProxies(%q) = %q, want %q", tt.in, ps.String(), tt.want)
		}
	}
}

func TestClientIP(t *testing.T) {
	trusted, err := ParseProxies("127.0.0.1/32, 10.0.0.0/8, ::1, fd00::/8")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		proxies   Proxies
		remote    string
		xff       []string
		want      string // "" for an invalid address
		wantProxy bool
	}{
		{"direct client", trusted, "203.0.113.7:51000", nil, "203.0.113.7", false},
		{"spoofed XFF from an untrusted peer is ignored", trusted, "203.0.113.7:51000", []string{"1.2.3.4"}, "203.0.113.7", false},
		{"XFF ignored when nothing is trusted", nil, "127.0.0.1:9", []string{"1.2.3.4"}, "127.0.0.1", false},
		{"trusted proxy, one client", trusted, "127.0.0.1:40000", []string{"198.51.100.9"}, "198.51.100.9", true},
		{"trusted proxy, no XFF: the proxy is the client", trusted, "127.0.0.1:40000", nil, "127.0.0.1", true},
		{"client's own spoofed entries left of the real one", trusted, "127.0.0.1:40000",
			[]string{"6.6.6.6, 7.7.7.7, 198.51.100.9"}, "198.51.100.9", true},
		{"chain of trusted proxies", trusted, "127.0.0.1:40000",
			[]string{"6.6.6.6, 198.51.100.9, 10.0.0.5, 10.0.0.6"}, "198.51.100.9", true},
		{"several XFF headers are one list", trusted, "127.0.0.1:40000",
			[]string{"6.6.6.6, 198.51.100.9", "10.0.0.5"}, "198.51.100.9", true},
		{"all hops trusted: the leftmost", trusted, "127.0.0.1:40000", []string{"10.0.0.9, 10.0.0.5"}, "10.0.0.9", true},
		{"garbage rightmost: the proxy itself", trusted, "127.0.0.1:40000", []string{"1.2.3.4, garbage"}, "127.0.0.1", true},
		{"garbage behind a trusted hop: that hop", trusted, "127.0.0.1:40000", []string{"1.2.3.4, unknown, 10.0.0.5"}, "10.0.0.5", true},
		{"empty entry: stop", trusted, "127.0.0.1:40000", []string{"1.2.3.4,,"}, "127.0.0.1", true},
		{"empty header", trusted, "127.0.0.1:40000", []string{""}, "127.0.0.1", true},
		{"entry with a port", trusted, "127.0.0.1:40000", []string{"198.51.100.9:4711"}, "198.51.100.9", true},
		{"IPv6 peer direct", trusted, "[2001:db8::1]:443", []string{"1.2.3.4"}, "2001:db8::1", false},
		{"IPv6 trusted peer, IPv6 client", trusted, "[::1]:443", []string{"2001:db8::42"}, "2001:db8::42", true},
		{"IPv6 client with a port", trusted, "[::1]:443", []string{"[2001:db8::42]:1234"}, "2001:db8::42", true},
		{"IPv6 chain", trusted, "[fd00::1]:443", []string{"2001:db8::42, fd00::2"}, "2001:db8::42", true},
		{"zone is dropped", trusted, "[fe80::1%eth0]:443", nil, "fe80::1", false},
		{"IPv4-mapped peer is IPv4", trusted, "[::ffff:127.0.0.1]:80", []string{"198.51.100.9"}, "198.51.100.9", true},
		{"IPv4-mapped client is IPv4", trusted, "127.0.0.1:80", []string{"::ffff:198.51.100.9"}, "198.51.100.9", true},
		{"unparseable peer", trusted, "@", []string{"1.2.3.4"}, "", false},
		{"peer without port", trusted, "203.0.113.7", nil, "203.0.113.7", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, viaProxy := tt.proxies.ClientIP(tt.remote, tt.xff)
			gotS := ""
			if got.IsValid() {
				gotS = got.String()
			}
			if gotS != tt.want || viaProxy != tt.wantProxy {
				t.Errorf("ClientIP(%q, %q) = %q, %v; want %q, %v", tt.remote, tt.xff, gotS, viaProxy, tt.want, tt.wantProxy)
			}
		})
	}
}

func TestKey(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"203.0.113.7", "203.0.113.7"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
		{"::1", "::/64"},
	} {
		if got := Key(netip.MustParseAddr(tt.in)); got != tt.want {
			t.Errorf("Key(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
