package country

import "testing"

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"", "US", "us", "USA", "United States", "united states of america",
		"Côte d'Ivoire", "Cote d'Ivoire", "the netherlands", "St. Lucia",
		"XX", "Narnia", "\xff", "U\u212A", "Co\u0302te", "  the  ", "İ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		code, ok := Normalize(s)
		if !ok {
			if code != "" {
				t.Fatalf("Normalize(%q) = %q, false; want empty code", s, code)
			}
			return
		}
		if len(code) != 2 || code[0] < 'A' || code[0] > 'Z' || code[1] < 'A' || code[1] > 'Z' {
			t.Fatalf("Normalize(%q) = %q; want two upper-case ASCII letters", s, code)
		}
		if _, ok := Name(code); !ok {
			t.Fatalf("Normalize(%q) = %q, but Name(%q) fails", s, code, code)
		}
		// Normalising a result is a fixed point.
		if again, ok := Normalize(code); !ok || again != code {
			t.Fatalf("Normalize(%q) = %q, %v; want %q", code, again, ok, code)
		}
	})
}
