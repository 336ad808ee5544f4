// Package money holds ISO 4217 currency metadata and integer-only formatting
// of amounts held as int64 minor units. No floating point is used anywhere.
package money

import "strconv"

// Currency is an ISO 4217 currency; amounts are always int64 minor units of it.
type Currency struct {
	Code     string // ISO 4217 alphabetic code, upper case, e.g. "USD"
	Exponent int    // ISO 4217 minor unit: digits after the decimal point
	Name     string // ISO 4217 English currency name
}

// USD is the US Dollar.
var USD = Currency{Code: "USD", Exponent: 2, Name: "US Dollar"}

// LookupCurrency accepts the alphabetic code in any case ("usd"); ok=false if
// not an active ISO 4217 code.
func LookupCurrency(code string) (Currency, bool) {
	if len(code) != 3 {
		return Currency{}, false
	}
	var buf [3]byte
	for i := 0; i < 3; i++ {
		c := code[i]
		switch {
		case 'A' <= c && c <= 'Z':
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		default:
			return Currency{}, false
		}
		buf[i] = c
	}
	c, ok := byCode[string(buf[:])]
	return c, ok
}

// Format renders minor units as a decimal string without floats:
// Format(123456, USD) = "1234.56", Format(-5, USD) = "-0.05",
// Format(1000, JPY) = "1000", Format(1, BHD (exp 3)) = "0.001".
//
// Every int64, including math.MinInt64, is rendered exactly. An Exponent of
// zero or less renders the amount as a plain integer.
func Format(amount int64, c Currency) string {
	neg := amount < 0
	mag := uint64(amount)
	if neg {
		mag = -mag // unsigned negation: exact for math.MinInt64 too
	}
	digits := strconv.FormatUint(mag, 10)
	exp := max(c.Exponent, 0)

	// Split into whole and fractional digits, zero-padding the fraction on
	// the left when the amount is smaller than one major unit.
	whole, fracPad, frac := "0", 0, digits
	if len(digits) > exp {
		whole, frac = digits[:len(digits)-exp], digits[len(digits)-exp:]
	} else {
		fracPad = exp - len(digits)
	}

	b := make([]byte, 0, len(whole)+exp+2)
	if neg {
		b = append(b, '-')
	}
	b = append(b, whole...)
	if exp > 0 {
		b = append(b, '.')
		for range fracPad {
			b = append(b, '0')
		}
		b = append(b, frac...)
	}
	return string(b)
}

// byCode maps an upper-case alphabetic code to its Currency.
var byCode = func() map[string]Currency {
	m := make(map[string]Currency, len(currencies))
	for _, c := range currencies {
		if _, dup := m[c.Code]; dup {
			panic("money: duplicate currency " + c.Code)
		}
		m[c.Code] = c
	}
	return m
}()

// currencies is ISO 4217 List One (active codes), in code order, with each
// currency's minor unit. Precious metals (XAU, XAG, XPD, XPT), bond-market
// and accounting units (XBA, XBB, XBC, XBD, XDR, XSU, XUA, XAD), the testing
// code XTS and the no-currency code XXX are deliberately left out. Codes
// withdrawn from List One are absent: HRK (2023), ANG (replaced by XCG in
// 2025), BGN (euro adoption, 2026), CUC, SLL (redenominated as SLE) and ZWL
// (replaced by ZWG in 2024).
var currencies = []Currency{
	{"AED", 2, "UAE Dirham"},
	{"AFN", 2, "Afghani"},
	{"ALL", 2, "Lek"},
	{"AMD", 2, "Armenian Dram"},
	{"AOA", 2, "Kwanza"},
	{"ARS", 2, "Argentine Peso"},
	{"AUD", 2, "Australian Dollar"},
	{"AWG", 2, "Aruban Florin"},
	{"AZN", 2, "Azerbaijan Manat"},
	{"BAM", 2, "Convertible Mark"},
	{"BBD", 2, "Barbados Dollar"},
	{"BDT", 2, "Taka"},
	{"BHD", 3, "Bahraini Dinar"},
	{"BIF", 0, "Burundi Franc"},
	{"BMD", 2, "Bermudian Dollar"},
	{"BND", 2, "Brunei Dollar"},
	{"BOB", 2, "Boliviano"},
	{"BOV", 2, "Mvdol"},
	{"BRL", 2, "Brazilian Real"},
	{"BSD", 2, "Bahamian Dollar"},
	{"BTN", 2, "Ngultrum"},
	{"BWP", 2, "Pula"},
	{"BYN", 2, "Belarusian Ruble"},
	{"BZD", 2, "Belize Dollar"},
	{"CAD", 2, "Canadian Dollar"},
	{"CDF", 2, "Congolese Franc"},
	{"CHE", 2, "WIR Euro"},
	{"CHF", 2, "Swiss Franc"},
	{"CHW", 2, "WIR Franc"},
	{"CLF", 4, "Unidad de Fomento"},
	{"CLP", 0, "Chilean Peso"},
	{"CNY", 2, "Yuan Renminbi"},
	{"COP", 2, "Colombian Peso"},
	{"COU", 2, "Unidad de Valor Real"},
	{"CRC", 2, "Costa Rican Colon"},
	{"CUP", 2, "Cuban Peso"},
	{"CVE", 2, "Cabo Verde Escudo"},
	{"CZK", 2, "Czech Koruna"},
	{"DJF", 0, "Djibouti Franc"},
	{"DKK", 2, "Danish Krone"},
	{"DOP", 2, "Dominican Peso"},
	{"DZD", 2, "Algerian Dinar"},
	{"EGP", 2, "Egyptian Pound"},
	{"ERN", 2, "Nakfa"},
	{"ETB", 2, "Ethiopian Birr"},
	{"EUR", 2, "Euro"},
	{"FJD", 2, "Fiji Dollar"},
	{"FKP", 2, "Falkland Islands Pound"},
	{"GBP", 2, "Pound Sterling"},
	{"GEL", 2, "Lari"},
	{"GHS", 2, "Ghana Cedi"},
	{"GIP", 2, "Gibraltar Pound"},
	{"GMD", 2, "Dalasi"},
	{"GNF", 0, "Guinean Franc"},
	{"GTQ", 2, "Quetzal"},
	{"GYD", 2, "Guyana Dollar"},
	{"HKD", 2, "Hong Kong Dollar"},
	{"HNL", 2, "Lempira"},
	{"HTG", 2, "Gourde"},
	{"HUF", 2, "Forint"},
	{"IDR", 2, "Rupiah"},
	{"ILS", 2, "New Israeli Sheqel"},
	{"INR", 2, "Indian Rupee"},
	{"IQD", 3, "Iraqi Dinar"},
	{"IRR", 2, "Iranian Rial"},
	{"ISK", 0, "Iceland Krona"},
	{"JMD", 2, "Jamaican Dollar"},
	{"JOD", 3, "Jordanian Dinar"},
	{"JPY", 0, "Yen"},
	{"KES", 2, "Kenyan Shilling"},
	{"KGS", 2, "Som"},
	{"KHR", 2, "Riel"},
	{"KMF", 0, "Comorian Franc"},
	{"KPW", 2, "North Korean Won"},
	{"KRW", 0, "Won"},
	{"KWD", 3, "Kuwaiti Dinar"},
	{"KYD", 2, "Cayman Islands Dollar"},
	{"KZT", 2, "Tenge"},
	{"LAK", 2, "Lao Kip"},
	{"LBP", 2, "Lebanese Pound"},
	{"LKR", 2, "Sri Lanka Rupee"},
	{"LRD", 2, "Liberian Dollar"},
	{"LSL", 2, "Loti"},
	{"LYD", 3, "Libyan Dinar"},
	{"MAD", 2, "Moroccan Dirham"},
	{"MDL", 2, "Moldovan Leu"},
	{"MGA", 2, "Malagasy Ariary"},
	{"MKD", 2, "Denar"},
	{"MMK", 2, "Kyat"},
	{"MNT", 2, "Tugrik"},
	{"MOP", 2, "Pataca"},
	{"MRU", 2, "Ouguiya"},
	{"MUR", 2, "Mauritius Rupee"},
	{"MVR", 2, "Rufiyaa"},
	{"MWK", 2, "Malawi Kwacha"},
	{"MXN", 2, "Mexican Peso"},
	{"MXV", 2, "Mexican Unidad de Inversion (UDI)"},
	{"MYR", 2, "Malaysian Ringgit"},
	{"MZN", 2, "Mozambique Metical"},
	{"NAD", 2, "Namibia Dollar"},
	{"NGN", 2, "Naira"},
	{"NIO", 2, "Cordoba Oro"},
	{"NOK", 2, "Norwegian Krone"},
	{"NPR", 2, "Nepalese Rupee"},
	{"NZD", 2, "New Zealand Dollar"},
	{"OMR", 3, "Rial Omani"},
	{"PAB", 2, "Balboa"},
	{"PEN", 2, "Sol"},
	{"PGK", 2, "Kina"},
	{"PHP", 2, "Philippine Peso"},
	{"PKR", 2, "Pakistan Rupee"},
	{"PLN", 2, "Zloty"},
	{"PYG", 0, "Guarani"},
	{"QAR", 2, "Qatari Rial"},
	{"RON", 2, "Romanian Leu"},
	{"RSD", 2, "Serbian Dinar"},
	{"RUB", 2, "Russian Ruble"},
	{"RWF", 0, "Rwanda Franc"},
	{"SAR", 2, "Saudi Riyal"},
	{"SBD", 2, "Solomon Islands Dollar"},
	{"SCR", 2, "Seychelles Rupee"},
	{"SDG", 2, "Sudanese Pound"},
	{"SEK", 2, "Swedish Krona"},
	{"SGD", 2, "Singapore Dollar"},
	{"SHP", 2, "Saint Helena Pound"},
	{"SLE", 2, "Leone"},
	{"SOS", 2, "Somali Shilling"},
	{"SRD", 2, "Surinam Dollar"},
	{"SSP", 2, "South Sudanese Pound"},
	{"STN", 2, "Dobra"},
	{"SVC", 2, "El Salvador Colon"},
	{"SYP", 2, "Syrian Pound"},
	{"SZL", 2, "Lilangeni"},
	{"THB", 2, "Baht"},
	{"TJS", 2, "Somoni"},
	{"TMT", 2, "Turkmenistan New Manat"},
	{"TND", 3, "Tunisian Dinar"},
	{"TOP", 2, "Pa’anga"},
	{"TRY", 2, "Turkish Lira"},
	{"TTD", 2, "Trinidad and Tobago Dollar"},
	{"TWD", 2, "New Taiwan Dollar"},
	{"TZS", 2, "Tanzanian Shilling"},
	{"UAH", 2, "Hryvnia"},
	{"UGX", 0, "Uganda Shilling"},
	{"USD", 2, "US Dollar"},
	{"USN", 2, "US Dollar (Next day)"},
	{"UYI", 0, "Uruguay Peso en Unidades Indexadas (UI)"},
	{"UYU", 2, "Peso Uruguayo"},
	{"UYW", 4, "Unidad Previsional"},
	{"UZS", 2, "Uzbekistan Sum"},
	{"VED", 2, "Bolívar Soberano"},
	{"VES", 2, "Bolívar Soberano"},
	{"VND", 0, "Dong"},
	{"VUV", 0, "Vatu"},
	{"WST", 2, "Tala"},
	{"XAF", 0, "CFA Franc BEAC"},
	{"XCD", 2, "East Caribbean Dollar"},
	{"XCG", 2, "Caribbean Guilder"},
	{"XOF", 0, "CFA Franc BCEAO"},
	{"XPF", 0, "CFP Franc"},
	{"YER", 2, "Yemeni Rial"},
	{"ZAR", 2, "Rand"},
	{"ZMW", 2, "Zambian Kwacha"},
	{"ZWG", 2, "Zimbabwe Gold"},
}

// Add is a + b, or ok=false when the sum overflows int64: sums of money
// fail loudly instead of wrapping.
func Add(a, b int64) (sum int64, ok bool) {
	sum = a + b
	if (b > 0 && sum < a) || (b < 0 && sum > a) {
		return 0, false
	}
	return sum, true
}
