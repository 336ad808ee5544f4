package gateway

import (
	"testing"
	"time"
)

// TestRoleAllows: an admin may do everything; staff payments and products
// only; an unknown role nothing.
func TestRoleAllows(t *testing.T) {
	all := []Permission{PermViewPayments, PermOperate, PermManageProducts, PermManageKeys, PermManageUsers, PermManageSettings, PermViewAudit, PermManageWebhooks}
	staff := map[Permission]bool{PermViewPayments: true, PermOperate: true, PermManageProducts: true}
	for _, p := range all {
		if !RoleAdmin.Allows(p) {
			t.Errorf("admin may not %s", p)
		}
		if RoleStaff.Allows(p) != staff[p] {
			t.Errorf("staff %s: %t, want %t", p, RoleStaff.Allows(p), staff[p])
		}
		if Role("owner").Allows(p) {
			t.Errorf("an unknown role may %s", p)
		}
	}
	for _, s := range []string{"admin", "staff"} {
		if r, ok := ParseRole(s); !ok || string(r) != s {
			t.Errorf("ParseRole(%q) = %q, %t", s, r, ok)
		}
	}
	if _, ok := ParseRole("Admin"); ok {
		t.Error("ParseRole accepts Admin")
	}
}

// TestSessionExpired: a session ends at its absolute end however active,
// and after the idle time however young.
func TestSessionExpired(t *testing.T) {
	start := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	s := PortalSession{CreatedAt: start, LastSeenAt: start, ExpiresAt: start.Add(12 * time.Hour)}
	idle := 30 * time.Minute
	for _, tc := range []struct {
		name     string
		lastSeen time.Duration // after start
		now      time.Duration
		want     bool
	}{
		{"fresh", 0, time.Minute, false},
		{"just under idle", 0, idle - time.Second, false},
		{"idle", 0, idle, true},
		{"active, before the end", 11*time.Hour + 50*time.Minute, 11*time.Hour + 55*time.Minute, false},
		{"active, at the absolute end", 11*time.Hour + 59*time.Minute, 12 * time.Hour, true},
		{"active, past the absolute end", 12*time.Hour + time.Minute, 12*time.Hour + 2*time.Minute, true},
	} {
		s.LastSeenAt = start.Add(tc.lastSeen)
		if got := s.Expired(start.Add(tc.now), idle); got != tc.want {
			t.Errorf("%s: Expired = %t, want %t", tc.name, got, tc.want)
		}
	}
}
