package main

import (
	"testing"
	"time"
)

func TestDailyCutoff(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		flag, now, want string
	}{
		{"00:00", "2026-11-25T17:44:00Z", "2026-11-26T00:00:00Z"},
		{"18:30", "2026-11-25T17:44:00Z", "2026-11-25T18:30:00Z"},
		{"18:30", "2026-11-25T18:30:00Z", "2026-11-26T18:30:00Z"}, // strictly after now
		{"23:59", "2026-12-31T23:59:30Z", "2027-01-01T23:59:00Z"},
		{"02:00", "2026-11-25T01:00:00+05:00", "2026-11-25T02:00:00Z"}, // cut-offs are UTC
	}
	for _, tt := range tests {
		cutoff, err := parseCutoff(tt.flag)
		if err != nil {
			t.Fatalf("parseCutoff(%q): %v", tt.flag, err)
		}
		if got := nextCutoff(at(tt.now), cutoff); !got.Equal(at(tt.want)) {
			t.Errorf("next %s cut-off after %s = %s, want %s", tt.flag, tt.now, got, tt.want)
		}
	}
	if c, err := parseCutoff("off"); err != nil || c >= 0 {
		t.Errorf("off: %v %v", c, err)
	}
	for _, bad := range []string{"24:00", "7", "12:60", "noon"} {
		if _, err := parseCutoff(bad); err == nil {
			t.Errorf("parseCutoff(%q) accepted", bad)
		}
	}
}
