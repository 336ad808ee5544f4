package country

import (
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		// The 'United States' case in all its usual spellings.
		{"United States", "US"},
		{"united states", "US"},
		{"UNITED STATES", "US"},
		{"  United   States  ", "US"},
		{"United States of America", "US"},
		{"united states of america", "US"},
		{"The United States", "US"},
		{"US", "US"},
		{"us", "US"},
		{"Us", "US"},
		{" us\t", "US"},
		{"USA", "US"},
		{"usa", "US"},
		{"U.S.", "US"},
		{"U.S.A.", "US"},
		{"u.s.a", "US"},

		// Alpha-2 in any case.
		{"DE", "DE"},
		{"de", "DE"},
		{"gB", "GB"},
		{"ax", "AX"},
		{"st", "ST"}, // a code, not the "St" abbreviation of "Saint"

		// Alpha-3.
		{"DEU", "DE"},
		{"deu", "DE"},
		{"GBR", "GB"},
		{"CIV", "CI"},
		{"cod", "CD"},
		{"ala", "AX"},
		{"SGS", "GS"},

		// Names, case and accent insensitive.
		{"Germany", "DE"},
		{"germany", "DE"},
		{"GERMANY", "DE"},
		{"Côte d'Ivoire", "CI"},
		{"Cote d'Ivoire", "CI"},
		{"CÔTE D'IVOIRE", "CI"},
		{"côte d’ivoire", "CI"},
		{"Co\u0302te d'Ivoire", "CI"}, // decomposed circumflex
		{"Åland Islands", "AX"},
		{"Aland Islands", "AX"},
		{"Curaçao", "CW"},
		{"Curacao", "CW"},
		{"Réunion", "RE"},
		{"Reunion", "RE"},
		{"Saint Barthélemy", "BL"},
		{"Saint Barthelemy", "BL"},
		{"St. Barthelemy", "BL"},
		{"St Kitts and Nevis", "KN"},
		{"St. Vincent & the Grenadines", "VC"},
		{"Trinidad & Tobago", "TT"},
		{"São Tomé and Príncipe", "ST"},
		{"Sao Tome and Principe", "ST"},
		{"Türkiye", "TR"},
		{"Turkiye", "TR"},
		{"TÜRKIYE", "TR"},
		{"Netherlands", "NL"},
		{"the netherlands", "NL"},
		{"The Gambia", "GM"},
		{"Bahamas", "BS"},
		{"the Bahamas", "BS"},
		{"Korea, Republic of", "KR"},
		{"Bolivia, Plurinational State of", "BO"},
		{"Congo", "CG"},
		{"Congo, The Democratic Republic of the", "CD"},
		{"Guinea-Bissau", "GW"},
		{"Timor-Leste", "TL"},
		{"Holy See (Vatican City State)", "VA"},
		{"Virgin Islands, U.S.", "VI"},
		{"Virgin Islands, British", "VG"},
		{"Saint Martin (French part)", "MF"},
		{"Sint Maarten (Dutch part)", "SX"},
		{"Federal Republic of Germany", "DE"},
		{"People's Republic of China", "CN"},
		{"Hong Kong", "HK"},
		{"Georgia", "GE"},
		{"Niger", "NE"},
		{"Nigeria", "NG"},
		{"Dominica", "DM"},
		{"Dominican Republic", "DO"},
		{"Guinea", "GN"},
		{"Equatorial Guinea", "GQ"},
		{"Papua New Guinea", "PG"},
		{"Sudan", "SD"},
		{"South Sudan", "SS"},
		{"Niue", "NU"},
	}
	for _, tt := range tests {
		got, ok := Normalize(tt.in)
		if !ok || got != tt.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q, true", tt.in, got, ok, tt.want)
		}
	}
}

func TestNormalizeAliases(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"United Kingdom", "GB"},
		{"United Kingdom of Great Britain and Northern Ireland", "GB"},
		{"UK", "GB"},
		{"uk", "GB"},
		{"U.K.", "GB"},
		{"Great Britain", "GB"},
		{"South Korea", "KR"},
		{"Republic of Korea", "KR"},
		{"North Korea", "KP"},
		{"Democratic People's Republic of Korea", "KP"},
		{"Russia", "RU"},
		{"Russian Federation", "RU"},
		{"Vietnam", "VN"},
		{"Viet Nam", "VN"},
		{"Iran", "IR"},
		{"Syria", "SY"},
		{"Laos", "LA"},
		{"Bolivia", "BO"},
		{"Venezuela", "VE"},
		{"Tanzania", "TZ"},
		{"Moldova", "MD"},
		{"Czech Republic", "CZ"},
		{"Czechia", "CZ"},
		{"Ivory Coast", "CI"},
		{"Macedonia", "MK"},
		{"North Macedonia", "MK"},
		{"Taiwan", "TW"},
		{"Palestine", "PS"},
		{"Vatican", "VA"},
		{"Vatican City", "VA"},
		{"Holy See", "VA"},
		{"The Netherlands", "NL"},
		{"Brunei", "BN"},
		{"Cape Verde", "CV"},
		{"Cabo Verde", "CV"},
		{"Swaziland", "SZ"},
		{"Eswatini", "SZ"},
		{"Burma", "MM"},
		{"Myanmar", "MM"},
		{"Micronesia", "FM"},
		{"Turkey", "TR"},
		{"Türkiye", "TR"},
		{"Democratic Republic of the Congo", "CD"},
		{"DR Congo", "CD"},
		{"Republic of the Congo", "CG"},
		{"East Timor", "TL"},
		{"Macau", "MO"},
		{"Macao", "MO"},
		{"Falkland Islands", "FK"},
		{"British Virgin Islands", "VG"},
		{"US Virgin Islands", "VI"},
		{"U.S. Virgin Islands", "VI"},
		{"UAE", "AE"},
	}
	for _, tt := range tests {
		got, ok := Normalize(tt.in)
		if !ok || got != tt.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q, true", tt.in, got, ok, tt.want)
		}
	}
}

func TestNormalizeRejects(t *testing.T) {
	for _, in := range []string{
		"",
		" ",
		"XX",
		"xx",
		"XXX",
		"Narnia",
		"narnia",
		"U",
		"USAA",
		"U S",
		"EU", // exceptionally reserved, not assigned
		"UN",
		"ZZ",
		"AA",
		"the",
		"The",
		"Saint",
		"Korea",          // ambiguous
		"Virgin Islands", // ambiguous
		"England",        // not a country in ISO 3166-1
		"America",        // ambiguous
		"Holland",        // deliberately not an alias
		"Britain",        // deliberately not an alias
		"United",
		"Germany Germany",
		"Ge rmany",
		"DE\x00",
		"\xff\xfe",
		"Ü",
		"1234",
		"12",
	} {
		if got, ok := Normalize(in); ok {
			t.Errorf("Normalize(%q) = %q, true; want rejection", in, got)
		}
	}
}

func TestTable(t *testing.T) {
	if len(table) != 249 {
		t.Fatalf("table has %d entries, want 249", len(table))
	}
	if _, _, _, err := buildIndex(table); err != nil {
		t.Fatalf("buildIndex: %v", err)
	}
	for i := 1; i < len(table); i++ {
		if table[i-1].alpha2 >= table[i].alpha2 {
			t.Errorf("table not sorted by alpha-2 at %s, %s", table[i-1].alpha2, table[i].alpha2)
		}
	}
	for _, e := range table {
		if e.name == "" || strings.TrimSpace(e.name) != e.name {
			t.Errorf("%s: bad name %q", e.alpha2, e.name)
		}
	}
}

// TestRoundTrip checks every alpha-2 code: Name succeeds, and the name, the
// code in either case, the alpha-3 code and every alias normalise back to it.
func TestRoundTrip(t *testing.T) {
	for _, e := range table {
		name, ok := Name(e.alpha2)
		if !ok || name != e.name {
			t.Errorf("Name(%q) = %q, %v; want %q, true", e.alpha2, name, ok, e.name)
			continue
		}
		inputs := []string{
			name,
			strings.ToLower(name),
			strings.ToUpper(name),
			"  " + name + "  ",
			e.alpha2,
			strings.ToLower(e.alpha2),
			e.alpha3,
			strings.ToLower(e.alpha3),
		}
		inputs = append(inputs, e.aliases...)
		for _, in := range inputs {
			if got, ok := Normalize(in); !ok || got != e.alpha2 {
				t.Errorf("Normalize(%q) = %q, %v; want %q, true", in, got, ok, e.alpha2)
			}
		}
	}
}

func TestName(t *testing.T) {
	tests := []struct {
		code string
		want string
		ok   bool
	}{
		{"US", "United States", true},
		{"us", "United States", true},
		{"DE", "Germany", true},
		{"CI", "Côte d'Ivoire", true},
		{"GB", "United Kingdom", true},
		{"TR", "Türkiye", true},
		{"XX", "", false},
		{"", "", false},
		{"U", "", false},
		{"USA", "", false},
		{" US", "", false},
		{"UK", "", false},
		{"É1", "", false},
	}
	for _, tt := range tests {
		got, ok := Name(tt.code)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Name(%q) = %q, %v; want %q, %v", tt.code, got, ok, tt.want, tt.ok)
		}
	}
}

func TestBuildIndexRejectsAmbiguity(t *testing.T) {
	tests := []struct {
		name string
		t    []entry
	}{
		{"duplicate alpha-2", []entry{{"AA", "AAA", "A", nil}, {"AA", "BBB", "B", nil}}},
		{"duplicate alpha-3", []entry{{"AA", "AAA", "A", nil}, {"BB", "AAA", "B", nil}}},
		{"malformed alpha-2", []entry{{"aa", "AAA", "A", nil}}},
		{"malformed alpha-3", []entry{{"AA", "AA1", "A", nil}}},
		{"same name", []entry{{"AA", "AAA", "Land", nil}, {"BB", "BBB", "The Land", nil}}},
		{"alias shadows name", []entry{{"AA", "AAA", "Aland", nil}, {"BB", "BBB", "Bland", []string{"ÅLAND"}}}},
		{"alias is another code", []entry{{"AA", "AAA", "A", nil}, {"BB", "BBB", "B", []string{"A.A."}}}},
		{"empty alias", []entry{{"AA", "AAA", "A", []string{" . . "}}}},
	}
	for _, tt := range tests {
		if _, _, _, err := buildIndex(tt.t); err == nil {
			t.Errorf("%s: buildIndex succeeded, want error", tt.name)
		}
	}
}
