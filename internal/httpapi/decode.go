package httpapi

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

// fields is a request body's top-level object. Each field is parsed on its
// own so that errors name it, numbers keep their exact text (card numbers
// never pass through float64), and unknown fields are ignored.
type fields map[string]json.RawMessage

func invalid(code, format string, args ...any) *gateway.Error {
	return gateway.Errorf(gateway.KindInvalid, code, format, args...)
}

func parseFields(body []byte) (fields, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, invalid("invalid-json", "The request body must be a JSON object.")
	}
	if body[0] != '{' {
		return nil, invalid("invalid-json", "The request body must be a JSON object.")
	}
	// encoding/json would quietly turn invalid UTF-8 into U+FFFD.
	if !utf8.Valid(body) || !json.Valid(body) {
		return nil, invalid("invalid-json", "The request body is not valid JSON.")
	}
	f, unique := members(body)
	// encoding/json keeps the last of repeated names; a body that names a
	// field twice (say, two amounts) is ambiguous, so it is refused.
	if !unique {
		return nil, invalid("invalid-json", "The request body names a field more than once.")
	}
	return f, nil
}

// members splits body, one valid JSON object, into its members in a single
// pass, without decoding the values: decoding into a map of raw messages
// cost a charge more than its card validation. unique is false when a name
// (after unescaping) comes twice. FuzzParseFields holds the result equal to
// encoding/json's own reading.
func members(body []byte) (f fields, unique bool) {
	f = make(fields, 16)
	text := string(body) // one copy, from which every name is a slice
	i := skipSpace(body, 1)
	if body[i] == '}' {
		return f, true
	}
	for {
		end := stringEnd(body, i)
		name := body[i:end]
		var key string
		if bytes.IndexByte(name, '\\') < 0 {
			key = text[i+1 : end-1]
		} else if json.Unmarshal(name, &key) != nil {
			return nil, false // unreachable: body is valid
		}
		i = skipSpace(body, skipSpace(body, end)+1) // past the colon
		end = valueEnd(body, i)
		if _, seen := f[key]; seen {
			return nil, false
		}
		f[key] = json.RawMessage(body[i:end])
		i = skipSpace(body, end)
		if body[i] == '}' {
			return f, true
		}
		i = skipSpace(body, i+1) // past the comma
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the string that starts at b[i].
func stringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// valueEnd returns the index just past the value that starts at b[i].
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = stringEnd(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	default: // a number, true, false or null
		for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' &&
			b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
			i++
		}
		return i
	}
}

// maxFieldLength bounds every text field.
const maxFieldLength = 255

// value returns a string, number or boolean field as text, trimmed; ok is
// false for an absent or null field. It checks the JSON type only: what
// the text may be is the service's rule (service.ValidatePayment) or text's.
func (f fields) value(name string) (s string, ok bool, err error) {
	raw, present := f[name]
	if !present {
		return "", false, nil
	}
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return "", false, nil
	case raw[0] == '"':
		if plain, ok := plainString(raw); ok {
			s = strings.TrimSpace(plain)
			break
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false, invalid("invalid-"+fieldCode(name), "%s must be a string.", name)
		}
		s = strings.TrimSpace(s)
	case raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9':
		s = string(raw) // the number's exact text
	case string(raw) == "true" || string(raw) == "false":
		s = string(raw)
	default:
		return "", false, invalid("invalid-"+fieldCode(name), "%s must be a string or a number.", name)
	}
	return s, s != "", nil
}

// text is value for a field whose rules the API checks itself (the ids of
// capture, refund, void and lookup): at most maxFieldLength characters, no
// control characters.
func (f fields) text(name string) (s string, ok bool, err error) {
	if s, ok, err = f.value(name); err != nil || !ok {
		return s, ok, err
	}
	if utf8.RuneCountInString(s) > maxFieldLength {
		return "", false, invalid("invalid-"+fieldCode(name), "%s must be at most %d characters.", name, maxFieldLength)
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", false, invalid("invalid-"+fieldCode(name), "%s must not contain control characters.", name)
	}
	return s, true, nil
}

// plainString returns the value of raw when raw is a JSON string without
// escapes, as most are, which then needs no decoding.
func plainString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	for _, c := range inner {
		if c < ' ' || c == '"' || c == '\\' {
			return "", false
		}
	}
	if !utf8.Valid(inner) {
		return "", false
	}
	return string(inner), true
}

// required returns a field's text, refusing an absent, null or empty one.
func (f fields) required(name string) (string, error) {
	s, ok, err := f.text(name)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", invalid("missing-"+fieldCode(name), "%s is required.", name)
	}
	return s, nil
}

// maxAmount is the largest amount the wire format reads; an account's own
// maximum (service) is lower.
const maxAmount = gateway.MaxWireAmount

// amount returns a required integer amount in minor units, from a JSON
// integer or a string of digits. Fractions and exponents are refused: amounts
// are never floats. So are signs: an amount is never negative, and "+5" is
// not a string of digits.
func (f fields) amount(name string) (int64, error) {
	s, err := f.required(name)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || s[0] < '0' || s[0] > '9' || n > maxAmount {
		return 0, invalid("invalid-"+fieldCode(name), "%s must be a whole number of minor units (cents), at most %d.", name, int64(maxAmount))
	}
	return n, nil
}

func fieldCode(name string) string { return strings.ReplaceAll(name, "_", "-") }

// parser reads fields one after another and keeps the first error, so that
// request decoders read as a list of fields.
type parser struct {
	f   fields
	err error
}

func (p *parser) keep(s string, err error) string {
	if p.err == nil {
		p.err = err
	}
	return s
}

func (p *parser) required(name string) string {
	if p.err != nil {
		return ""
	}
	return p.keep(p.f.required(name))
}

// value reads a field's text, checking only its JSON type.
func (p *parser) value(name string) string {
	if p.err != nil {
		return ""
	}
	s, _, err := p.f.value(name)
	return p.keep(s, err)
}

func (p *parser) amount(name string) int64 {
	if p.err != nil {
		return 0
	}
	n, err := p.f.amount(name)
	p.err = err
	return n
}
