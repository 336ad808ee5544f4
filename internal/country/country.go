// Package country maps free-form country input (ISO 3166-1 alpha-2 or
// alpha-3 codes, English short names and a few common unambiguous aliases)
// to ISO 3166-1 alpha-2 codes.
//
// The data is a static table of all 249 officially assigned ISO 3166-1
// entries; the lookup index is built once at package initialisation.
package country

import (
	"fmt"
	"slices"
	"strings"
)

// entry is one officially assigned ISO 3166-1 code element.
type entry struct {
	alpha2  string   // ISO 3166-1 alpha-2, upper case
	alpha3  string   // ISO 3166-1 alpha-3, upper case
	name    string   // English short name
	aliases []string // other unambiguous English names for the same country
}

// Normalize returns the ISO 3166-1 alpha-2 code (upper case) for s, which may
// be an alpha-2 code in any case ("us", "US"), an alpha-3 code ("USA"), or the
// country's English short name in any case with surrounding spaces trimmed
// ("United States", "united states of america", "Germany", "Côte d'Ivoire" /
// "Cote d'Ivoire"); ok=false for anything else (including "", "XX", "Narnia").
//
// Names are matched case-insensitively, ignoring accents on Latin letters,
// periods, repeated whitespace and a leading "the"; "St" matches "Saint" and
// "&" matches "and".
func Normalize(s string) (code string, ok bool) {
	t := strings.TrimSpace(s)
	if up, isCode := upperASCIILetters(t); isCode {
		switch len(up) {
		case 2:
			if _, ok := byAlpha2[up]; ok {
				return up, true
			}
		case 3:
			if code, ok := alpha3[up]; ok {
				return code, true
			}
		}
	}
	code, ok = names[fold(t)]
	return code, ok
}

// Name returns the English short name for an alpha-2 code. The code is
// matched case-insensitively; anything that is not an officially assigned
// alpha-2 code yields ok=false.
func Name(code string) (string, bool) {
	up, isCode := upperASCIILetters(code)
	if !isCode || len(up) != 2 {
		return "", false
	}
	e, ok := byAlpha2[up]
	if !ok {
		return "", false
	}
	return e.name, true
}

// upperASCIILetters returns s upper-cased if s is two or three ASCII
// letters, the shape of an alpha-2 or alpha-3 code.
func upperASCIILetters(s string) (string, bool) {
	if len(s) != 2 && len(s) != 3 {
		return "", false
	}
	var buf [3]byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z':
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		default:
			return "", false
		}
		buf[i] = c
	}
	return string(buf[:len(s)]), true
}

// Country is an officially assigned country code and its English short name.
type Country struct{ Code, Name string }

// All lists every country by its English short name, for a form's choice.
func All() []Country {
	out := make([]Country, len(table))
	for i, e := range table {
		out[i] = Country{Code: e.alpha2, Name: e.name}
	}
	slices.SortFunc(out, func(a, b Country) int { return strings.Compare(fold(a.Name), fold(b.Name)) })
	return out
}

var (
	// byAlpha2 maps an upper-case alpha-2 code to its table entry.
	byAlpha2 map[string]*entry
	// alpha3 maps an upper-case alpha-3 code to its alpha-2 code.
	alpha3 map[string]string
	// names maps a folded name or alias (see fold) to its alpha-2 code.
	names map[string]string
)

func init() {
	var err error
	byAlpha2, alpha3, names, err = buildIndex(table)
	if err != nil {
		panic("country: " + err.Error())
	}
}

// buildIndex builds the lookup maps. It reports malformed or duplicate codes
// and any name or alias that would be ambiguous: one that folds to the same
// key as another country's name, or that has the shape of another country's
// code (codes are matched before names).
func buildIndex(t []entry) (map[string]*entry, map[string]string, map[string]string, error) {
	by := make(map[string]*entry, len(t))
	a3 := make(map[string]string, len(t))
	for i := range t {
		e := &t[i]
		if up, ok := upperASCIILetters(e.alpha2); !ok || up != e.alpha2 || len(up) != 2 {
			return nil, nil, nil, fmt.Errorf("malformed alpha-2 %q", e.alpha2)
		}
		if up, ok := upperASCIILetters(e.alpha3); !ok || up != e.alpha3 || len(up) != 3 {
			return nil, nil, nil, fmt.Errorf("malformed alpha-3 %q", e.alpha3)
		}
		if _, dup := by[e.alpha2]; dup {
			return nil, nil, nil, fmt.Errorf("duplicate alpha-2 %s", e.alpha2)
		}
		if _, dup := a3[e.alpha3]; dup {
			return nil, nil, nil, fmt.Errorf("duplicate alpha-3 %s", e.alpha3)
		}
		by[e.alpha2] = e
		a3[e.alpha3] = e.alpha2
	}
	nm := make(map[string]string, len(t)*3)
	add := func(name, code string) error {
		k := fold(name)
		for _, form := range []string{strings.TrimSpace(name), k} {
			if up, ok := upperASCIILetters(form); ok {
				other := a3[up]
				if e, ok := by[up]; ok {
					other = e.alpha2
				}
				if other != "" && other != code {
					return fmt.Errorf("name %q of %s reads as the code of %s", name, code, other)
				}
			}
		}
		if k == "" {
			return fmt.Errorf("empty name %q for %s", name, code)
		}
		if prev, dup := nm[k]; dup && prev != code {
			return fmt.Errorf("name %q maps to both %s and %s", name, prev, code)
		}
		nm[k] = code
		return nil
	}
	for i := range t {
		e := &t[i]
		if err := add(e.name, e.alpha2); err != nil {
			return nil, nil, nil, err
		}
		for _, a := range e.aliases {
			if err := add(a, e.alpha2); err != nil {
				return nil, nil, nil, err
			}
		}
	}
	return by, a3, nm, nil
}

// fold reduces s to the canonical key used for matching: lower case, Latin
// accents removed, periods dropped, typographic apostrophes made ASCII,
// whitespace collapsed, "st" read as "saint", "&" as "and", and one leading
// "the" removed.
func fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 0x0300 && r <= 0x036F: // combining diacritical marks
			continue
		case r == '.':
			continue
		case r == '\u2018' || r == '\u2019' || r == '`' || r == '\u00B4':
			b.WriteByte('\'')
			continue
		}
		if rep, ok := latinFold[r]; ok {
			b.WriteString(rep)
			continue
		}
		b.WriteRune(r)
	}
	words := strings.Fields(b.String())
	for i, w := range words {
		switch w {
		case "st":
			words[i] = "saint"
		case "&":
			words[i] = "and"
		}
	}
	if len(words) > 1 && words[0] == "the" {
		words = words[1:]
	}
	return strings.Join(words, " ")
}

// latinFold maps lower-case accented Latin letters to plain ASCII.
var latinFold = func() map[rune]string {
	groups := []struct{ from, to string }{
		{"àáâãäåāăą", "a"},
		{"æ", "ae"},
		{"çćĉċč", "c"},
		{"ďđð", "d"},
		{"èéêëēĕėęě", "e"},
		{"ĝğġģ", "g"},
		{"ĥħ", "h"},
		{"ìíîïĩīĭįı", "i"},
		{"ĵ", "j"},
		{"ķ", "k"},
		{"ĺļľŀł", "l"},
		{"ñńņňŉ", "n"},
		{"òóôõöøōŏő", "o"},
		{"œ", "oe"},
		{"ŕŗř", "r"},
		{"śŝşšș", "s"},
		{"ß", "ss"},
		{"ţťŧț", "t"},
		{"þ", "th"},
		{"ùúûüũūŭůűų", "u"},
		{"ŵ", "w"},
		{"ýÿŷ", "y"},
		{"źżž", "z"},
	}
	m := make(map[rune]string)
	for _, g := range groups {
		for _, r := range g.from {
			m[r] = g.to
		}
	}
	return m
}()

// table lists every officially assigned ISO 3166-1 code element (249), in
// alpha-2 order. Names follow the English short names as published in the
// Debian iso-codes data; aliases are unambiguous alternative English names.
var table = []entry{
	{"AD", "AND", "Andorra", []string{"Principality of Andorra"}},
	{"AE", "ARE", "United Arab Emirates", []string{"UAE"}},
	{"AF", "AFG", "Afghanistan", []string{"Islamic Republic of Afghanistan"}},
	{"AG", "ATG", "Antigua and Barbuda", nil},
	{"AI", "AIA", "Anguilla", nil},
	{"AL", "ALB", "Albania", []string{"Republic of Albania"}},
	{"AM", "ARM", "Armenia", []string{"Republic of Armenia"}},
	{"AO", "AGO", "Angola", []string{"Republic of Angola"}},
	{"AQ", "ATA", "Antarctica", nil},
	{"AR", "ARG", "Argentina", []string{"Argentine Republic"}},
	{"AS", "ASM", "American Samoa", nil},
	{"AT", "AUT", "Austria", []string{"Republic of Austria"}},
	{"AU", "AUS", "Australia", nil},
	{"AW", "ABW", "Aruba", nil},
	{"AX", "ALA", "Åland Islands", nil},
	{"AZ", "AZE", "Azerbaijan", []string{"Republic of Azerbaijan"}},
	{"BA", "BIH", "Bosnia and Herzegovina", []string{"Republic of Bosnia and Herzegovina"}},
	{"BB", "BRB", "Barbados", nil},
	{"BD", "BGD", "Bangladesh", []string{"People's Republic of Bangladesh"}},
	{"BE", "BEL", "Belgium", []string{"Kingdom of Belgium"}},
	{"BF", "BFA", "Burkina Faso", nil},
	{"BG", "BGR", "Bulgaria", []string{"Republic of Bulgaria"}},
	{"BH", "BHR", "Bahrain", []string{"Kingdom of Bahrain"}},
	{"BI", "BDI", "Burundi", []string{"Republic of Burundi"}},
	{"BJ", "BEN", "Benin", []string{"Republic of Benin"}},
	{"BL", "BLM", "Saint Barthélemy", nil},
	{"BM", "BMU", "Bermuda", nil},
	{"BN", "BRN", "Brunei Darussalam", []string{"Brunei"}},
	{"BO", "BOL", "Bolivia, Plurinational State of", []string{"Bolivia", "Plurinational State of Bolivia"}},
	{"BQ", "BES", "Bonaire, Sint Eustatius and Saba", []string{"Caribbean Netherlands"}},
	{"BR", "BRA", "Brazil", []string{"Federative Republic of Brazil"}},
	{"BS", "BHS", "Bahamas", []string{"Commonwealth of the Bahamas"}},
	{"BT", "BTN", "Bhutan", []string{"Kingdom of Bhutan"}},
	{"BV", "BVT", "Bouvet Island", nil},
	{"BW", "BWA", "Botswana", []string{"Republic of Botswana"}},
	{"BY", "BLR", "Belarus", []string{"Republic of Belarus"}},
	{"BZ", "BLZ", "Belize", nil},
	{"CA", "CAN", "Canada", nil},
	{"CC", "CCK", "Cocos (Keeling) Islands", []string{"Cocos Islands"}},
	{"CD", "COD", "Congo, The Democratic Republic of the", []string{"Democratic Republic of the Congo", "Congo, Democratic Republic of the", "DR Congo", "Congo-Kinshasa"}},
	{"CF", "CAF", "Central African Republic", nil},
	{"CG", "COG", "Congo", []string{"Republic of the Congo", "Congo, Republic of the", "Congo-Brazzaville"}},
	{"CH", "CHE", "Switzerland", []string{"Swiss Confederation"}},
	{"CI", "CIV", "Côte d'Ivoire", []string{"Republic of Côte d'Ivoire", "Ivory Coast"}},
	{"CK", "COK", "Cook Islands", nil},
	{"CL", "CHL", "Chile", []string{"Republic of Chile"}},
	{"CM", "CMR", "Cameroon", []string{"Republic of Cameroon"}},
	{"CN", "CHN", "China", []string{"People's Republic of China"}},
	{"CO", "COL", "Colombia", []string{"Republic of Colombia"}},
	{"CR", "CRI", "Costa Rica", []string{"Republic of Costa Rica"}},
	{"CU", "CUB", "Cuba", []string{"Republic of Cuba"}},
	{"CV", "CPV", "Cabo Verde", []string{"Republic of Cabo Verde", "Cape Verde"}},
	{"CW", "CUW", "Curaçao", nil},
	{"CX", "CXR", "Christmas Island", nil},
	{"CY", "CYP", "Cyprus", []string{"Republic of Cyprus"}},
	{"CZ", "CZE", "Czechia", []string{"Czech Republic"}},
	{"DE", "DEU", "Germany", []string{"Federal Republic of Germany"}},
	{"DJ", "DJI", "Djibouti", []string{"Republic of Djibouti"}},
	{"DK", "DNK", "Denmark", []string{"Kingdom of Denmark"}},
	{"DM", "DMA", "Dominica", []string{"Commonwealth of Dominica"}},
	{"DO", "DOM", "Dominican Republic", nil},
	{"DZ", "DZA", "Algeria", []string{"People's Democratic Republic of Algeria"}},
	{"EC", "ECU", "Ecuador", []string{"Republic of Ecuador"}},
	{"EE", "EST", "Estonia", []string{"Republic of Estonia"}},
	{"EG", "EGY", "Egypt", []string{"Arab Republic of Egypt"}},
	{"EH", "ESH", "Western Sahara", nil},
	{"ER", "ERI", "Eritrea", []string{"the State of Eritrea"}},
	{"ES", "ESP", "Spain", []string{"Kingdom of Spain"}},
	{"ET", "ETH", "Ethiopia", []string{"Federal Democratic Republic of Ethiopia"}},
	{"FI", "FIN", "Finland", []string{"Republic of Finland"}},
	{"FJ", "FJI", "Fiji", []string{"Republic of Fiji"}},
	{"FK", "FLK", "Falkland Islands (Malvinas)", []string{"Falkland Islands"}},
	{"FM", "FSM", "Micronesia, Federated States of", []string{"Federated States of Micronesia", "Micronesia"}},
	{"FO", "FRO", "Faroe Islands", nil},
	{"FR", "FRA", "France", []string{"French Republic"}},
	{"GA", "GAB", "Gabon", []string{"Gabonese Republic"}},
	{"GB", "GBR", "United Kingdom", []string{"United Kingdom of Great Britain and Northern Ireland", "UK", "U.K.", "Great Britain"}},
	{"GD", "GRD", "Grenada", nil},
	{"GE", "GEO", "Georgia", nil},
	{"GF", "GUF", "French Guiana", nil},
	{"GG", "GGY", "Guernsey", nil},
	{"GH", "GHA", "Ghana", []string{"Republic of Ghana"}},
	{"GI", "GIB", "Gibraltar", nil},
	{"GL", "GRL", "Greenland", nil},
	{"GM", "GMB", "Gambia", []string{"Republic of the Gambia"}},
	{"GN", "GIN", "Guinea", []string{"Republic of Guinea"}},
	{"GP", "GLP", "Guadeloupe", nil},
	{"GQ", "GNQ", "Equatorial Guinea", []string{"Republic of Equatorial Guinea"}},
	{"GR", "GRC", "Greece", []string{"Hellenic Republic"}},
	{"GS", "SGS", "South Georgia and the South Sandwich Islands", nil},
	{"GT", "GTM", "Guatemala", []string{"Republic of Guatemala"}},
	{"GU", "GUM", "Guam", nil},
	{"GW", "GNB", "Guinea-Bissau", []string{"Republic of Guinea-Bissau"}},
	{"GY", "GUY", "Guyana", []string{"Republic of Guyana"}},
	{"HK", "HKG", "Hong Kong", []string{"Hong Kong Special Administrative Region of China"}},
	{"HM", "HMD", "Heard Island and McDonald Islands", nil},
	{"HN", "HND", "Honduras", []string{"Republic of Honduras"}},
	{"HR", "HRV", "Croatia", []string{"Republic of Croatia"}},
	{"HT", "HTI", "Haiti", []string{"Republic of Haiti"}},
	{"HU", "HUN", "Hungary", nil},
	{"ID", "IDN", "Indonesia", []string{"Republic of Indonesia"}},
	{"IE", "IRL", "Ireland", nil},
	{"IL", "ISR", "Israel", []string{"State of Israel"}},
	{"IM", "IMN", "Isle of Man", nil},
	{"IN", "IND", "India", []string{"Republic of India"}},
	{"IO", "IOT", "British Indian Ocean Territory", nil},
	{"IQ", "IRQ", "Iraq", []string{"Republic of Iraq"}},
	{"IR", "IRN", "Iran, Islamic Republic of", []string{"Iran", "Islamic Republic of Iran"}},
	{"IS", "ISL", "Iceland", []string{"Republic of Iceland"}},
	{"IT", "ITA", "Italy", []string{"Italian Republic"}},
	{"JE", "JEY", "Jersey", nil},
	{"JM", "JAM", "Jamaica", nil},
	{"JO", "JOR", "Jordan", []string{"Hashemite Kingdom of Jordan"}},
	{"JP", "JPN", "Japan", nil},
	{"KE", "KEN", "Kenya", []string{"Republic of Kenya"}},
	{"KG", "KGZ", "Kyrgyzstan", []string{"Kyrgyz Republic"}},
	{"KH", "KHM", "Cambodia", []string{"Kingdom of Cambodia"}},
	{"KI", "KIR", "Kiribati", []string{"Republic of Kiribati"}},
	{"KM", "COM", "Comoros", []string{"Union of the Comoros"}},
	{"KN", "KNA", "Saint Kitts and Nevis", nil},
	{"KP", "PRK", "Korea, Democratic People's Republic of", []string{"North Korea", "Democratic People's Republic of Korea", "Korea, North"}},
	{"KR", "KOR", "Korea, Republic of", []string{"South Korea", "Republic of Korea", "Korea, South"}},
	{"KW", "KWT", "Kuwait", []string{"State of Kuwait"}},
	{"KY", "CYM", "Cayman Islands", nil},
	{"KZ", "KAZ", "Kazakhstan", []string{"Republic of Kazakhstan"}},
	{"LA", "LAO", "Lao People's Democratic Republic", []string{"Laos", "Lao PDR"}},
	{"LB", "LBN", "Lebanon", []string{"Lebanese Republic"}},
	{"LC", "LCA", "Saint Lucia", nil},
	{"LI", "LIE", "Liechtenstein", []string{"Principality of Liechtenstein"}},
	{"LK", "LKA", "Sri Lanka", []string{"Democratic Socialist Republic of Sri Lanka"}},
	{"LR", "LBR", "Liberia", []string{"Republic of Liberia"}},
	{"LS", "LSO", "Lesotho", []string{"Kingdom of Lesotho"}},
	{"LT", "LTU", "Lithuania", []string{"Republic of Lithuania"}},
	{"LU", "LUX", "Luxembourg", []string{"Grand Duchy of Luxembourg"}},
	{"LV", "LVA", "Latvia", []string{"Republic of Latvia"}},
	{"LY", "LBY", "Libya", nil},
	{"MA", "MAR", "Morocco", []string{"Kingdom of Morocco"}},
	{"MC", "MCO", "Monaco", []string{"Principality of Monaco"}},
	{"MD", "MDA", "Moldova, Republic of", []string{"Moldova", "Republic of Moldova"}},
	{"ME", "MNE", "Montenegro", nil},
	{"MF", "MAF", "Saint Martin (French part)", []string{"Saint Martin"}},
	{"MG", "MDG", "Madagascar", []string{"Republic of Madagascar"}},
	{"MH", "MHL", "Marshall Islands", []string{"Republic of the Marshall Islands"}},
	{"MK", "MKD", "North Macedonia", []string{"Republic of North Macedonia", "Macedonia"}},
	{"ML", "MLI", "Mali", []string{"Republic of Mali"}},
	{"MM", "MMR", "Myanmar", []string{"Republic of Myanmar", "Burma"}},
	{"MN", "MNG", "Mongolia", nil},
	{"MO", "MAC", "Macao", []string{"Macao Special Administrative Region of China", "Macau"}},
	{"MP", "MNP", "Northern Mariana Islands", []string{"Commonwealth of the Northern Mariana Islands"}},
	{"MQ", "MTQ", "Martinique", nil},
	{"MR", "MRT", "Mauritania", []string{"Islamic Republic of Mauritania"}},
	{"MS", "MSR", "Montserrat", nil},
	{"MT", "MLT", "Malta", []string{"Republic of Malta"}},
	{"MU", "MUS", "Mauritius", []string{"Republic of Mauritius"}},
	{"MV", "MDV", "Maldives", []string{"Republic of Maldives"}},
	{"MW", "MWI", "Malawi", []string{"Republic of Malawi"}},
	{"MX", "MEX", "Mexico", []string{"United Mexican States"}},
	{"MY", "MYS", "Malaysia", nil},
	{"MZ", "MOZ", "Mozambique", []string{"Republic of Mozambique"}},
	{"NA", "NAM", "Namibia", []string{"Republic of Namibia"}},
	{"NC", "NCL", "New Caledonia", nil},
	{"NE", "NER", "Niger", []string{"Republic of the Niger"}},
	{"NF", "NFK", "Norfolk Island", nil},
	{"NG", "NGA", "Nigeria", []string{"Federal Republic of Nigeria"}},
	{"NI", "NIC", "Nicaragua", []string{"Republic of Nicaragua"}},
	{"NL", "NLD", "Netherlands", []string{"Kingdom of the Netherlands", "The Netherlands"}},
	{"NO", "NOR", "Norway", []string{"Kingdom of Norway"}},
	{"NP", "NPL", "Nepal", []string{"Federal Democratic Republic of Nepal"}},
	{"NR", "NRU", "Nauru", []string{"Republic of Nauru"}},
	{"NU", "NIU", "Niue", nil},
	{"NZ", "NZL", "New Zealand", nil},
	{"OM", "OMN", "Oman", []string{"Sultanate of Oman"}},
	{"PA", "PAN", "Panama", []string{"Republic of Panama"}},
	{"PE", "PER", "Peru", []string{"Republic of Peru"}},
	{"PF", "PYF", "French Polynesia", nil},
	{"PG", "PNG", "Papua New Guinea", []string{"Independent State of Papua New Guinea"}},
	{"PH", "PHL", "Philippines", []string{"Republic of the Philippines"}},
	{"PK", "PAK", "Pakistan", []string{"Islamic Republic of Pakistan"}},
	{"PL", "POL", "Poland", []string{"Republic of Poland"}},
	{"PM", "SPM", "Saint Pierre and Miquelon", nil},
	{"PN", "PCN", "Pitcairn", []string{"Pitcairn Islands"}},
	{"PR", "PRI", "Puerto Rico", nil},
	{"PS", "PSE", "Palestine, State of", []string{"the State of Palestine", "Palestine", "State of Palestine"}},
	{"PT", "PRT", "Portugal", []string{"Portuguese Republic"}},
	{"PW", "PLW", "Palau", []string{"Republic of Palau"}},
	{"PY", "PRY", "Paraguay", []string{"Republic of Paraguay"}},
	{"QA", "QAT", "Qatar", []string{"State of Qatar"}},
	{"RE", "REU", "Réunion", nil},
	{"RO", "ROU", "Romania", nil},
	{"RS", "SRB", "Serbia", []string{"Republic of Serbia"}},
	{"RU", "RUS", "Russian Federation", []string{"Russia"}},
	{"RW", "RWA", "Rwanda", []string{"Rwandese Republic"}},
	{"SA", "SAU", "Saudi Arabia", []string{"Kingdom of Saudi Arabia"}},
	{"SB", "SLB", "Solomon Islands", nil},
	{"SC", "SYC", "Seychelles", []string{"Republic of Seychelles"}},
	{"SD", "SDN", "Sudan", []string{"Republic of the Sudan"}},
	{"SE", "SWE", "Sweden", []string{"Kingdom of Sweden"}},
	{"SG", "SGP", "Singapore", []string{"Republic of Singapore"}},
	{"SH", "SHN", "Saint Helena, Ascension and Tristan da Cunha", []string{"Saint Helena"}},
	{"SI", "SVN", "Slovenia", []string{"Republic of Slovenia"}},
	{"SJ", "SJM", "Svalbard and Jan Mayen", nil},
	{"SK", "SVK", "Slovakia", []string{"Slovak Republic"}},
	{"SL", "SLE", "Sierra Leone", []string{"Republic of Sierra Leone"}},
	{"SM", "SMR", "San Marino", []string{"Republic of San Marino"}},
	{"SN", "SEN", "Senegal", []string{"Republic of Senegal"}},
	{"SO", "SOM", "Somalia", []string{"Federal Republic of Somalia"}},
	{"SR", "SUR", "Suriname", []string{"Republic of Suriname"}},
	{"SS", "SSD", "South Sudan", []string{"Republic of South Sudan"}},
	{"ST", "STP", "Sao Tome and Principe", []string{"Democratic Republic of Sao Tome and Principe"}},
	{"SV", "SLV", "El Salvador", []string{"Republic of El Salvador"}},
	{"SX", "SXM", "Sint Maarten (Dutch part)", []string{"Sint Maarten"}},
	{"SY", "SYR", "Syrian Arab Republic", []string{"Syria"}},
	{"SZ", "SWZ", "Eswatini", []string{"Kingdom of Eswatini", "Swaziland"}},
	{"TC", "TCA", "Turks and Caicos Islands", nil},
	{"TD", "TCD", "Chad", []string{"Republic of Chad"}},
	{"TF", "ATF", "French Southern Territories", nil},
	{"TG", "TGO", "Togo", []string{"Togolese Republic"}},
	{"TH", "THA", "Thailand", []string{"Kingdom of Thailand"}},
	{"TJ", "TJK", "Tajikistan", []string{"Republic of Tajikistan"}},
	{"TK", "TKL", "Tokelau", nil},
	{"TL", "TLS", "Timor-Leste", []string{"Democratic Republic of Timor-Leste", "East Timor"}},
	{"TM", "TKM", "Turkmenistan", nil},
	{"TN", "TUN", "Tunisia", []string{"Republic of Tunisia"}},
	{"TO", "TON", "Tonga", []string{"Kingdom of Tonga"}},
	{"TR", "TUR", "Türkiye", []string{"Republic of Türkiye", "Turkey"}},
	{"TT", "TTO", "Trinidad and Tobago", []string{"Republic of Trinidad and Tobago"}},
	{"TV", "TUV", "Tuvalu", nil},
	{"TW", "TWN", "Taiwan, Province of China", []string{"Taiwan"}},
	{"TZ", "TZA", "Tanzania, United Republic of", []string{"Tanzania", "United Republic of Tanzania"}},
	{"UA", "UKR", "Ukraine", nil},
	{"UG", "UGA", "Uganda", []string{"Republic of Uganda"}},
	{"UM", "UMI", "United States Minor Outlying Islands", nil},
	{"US", "USA", "United States", []string{"United States of America", "U.S.", "U.S.A."}},
	{"UY", "URY", "Uruguay", []string{"Eastern Republic of Uruguay"}},
	{"UZ", "UZB", "Uzbekistan", []string{"Republic of Uzbekistan"}},
	{"VA", "VAT", "Holy See (Vatican City State)", []string{"Vatican", "Vatican City", "Vatican City State", "Holy See"}},
	{"VC", "VCT", "Saint Vincent and the Grenadines", nil},
	{"VE", "VEN", "Venezuela, Bolivarian Republic of", []string{"Venezuela", "Bolivarian Republic of Venezuela"}},
	{"VG", "VGB", "Virgin Islands, British", []string{"British Virgin Islands"}},
	{"VI", "VIR", "Virgin Islands, U.S.", []string{"Virgin Islands of the United States", "U.S. Virgin Islands", "United States Virgin Islands"}},
	{"VN", "VNM", "Viet Nam", []string{"Vietnam", "Socialist Republic of Viet Nam"}},
	{"VU", "VUT", "Vanuatu", []string{"Republic of Vanuatu"}},
	{"WF", "WLF", "Wallis and Futuna", nil},
	{"WS", "WSM", "Samoa", []string{"Independent State of Samoa"}},
	{"YE", "YEM", "Yemen", []string{"Republic of Yemen"}},
	{"YT", "MYT", "Mayotte", nil},
	{"ZA", "ZAF", "South Africa", []string{"Republic of South Africa"}},
	{"ZM", "ZMB", "Zambia", []string{"Republic of Zambia"}},
	{"ZW", "ZWE", "Zimbabwe", []string{"Republic of Zimbabwe"}},
}
