package gateway

// The card networks' standard AVS and CVV result codes, with the sentence
// shown beside them in answers.
var avsMessages = map[string]string{
	"Y": "Street address and 5-digit ZIP code match.",
	"X": "Street address and 9-digit ZIP code match.",
	"A": "Street address matches; ZIP code does not.",
	"Z": "5-digit ZIP code matches; street address does not.",
	"W": "9-digit ZIP code matches; street address does not.",
	"N": "Neither the street address nor the ZIP code matches.",
	"U": "Address information is unavailable.",
	"R": "Retry: the issuer's system is unavailable.",
	"S": "The issuer does not support AVS.",
	"G": "The issuer is outside the US and does not support AVS.",
	"B": "Street address matches; ZIP code not verified.",
	"P": "ZIP code matches; street address not verified.",
	"E": "AVS data is invalid or AVS is not allowed for this card type.",
}

var cvvMessages = map[string]string{
	"M": "CVV matches.",
	"N": "CVV does not match.",
	"P": "CVV was not processed.",
	"S": "CVV should be on the card but was indicated as not present.",
	"U": "The issuer is not certified for CVV or did not provide the key.",
}

// AVSMessage explains an AVS code; "" for an unknown code.
func AVSMessage(code string) string { return avsMessages[code] }

// CVVMessage explains a CVV code; "" for an unknown code.
func CVVMessage(code string) string { return cvvMessages[code] }

// declineMessages are the gateway's decline reasons, each with the sentence
// its answer carries. Processors map their own declines to these codes, so
// that a merchant handles one set whatever the processor.
var declineMessages = map[string]string{
	"card-declined":      "The card was declined.",
	"insufficient-funds": "The card has insufficient funds.",
	"lost-card":          "The card was declined: it is reported lost.",
	"stolen-card":        "The card was declined: it is reported stolen.",
	"expired-card":       "The card was declined: it has expired.",
	"incorrect-cvv":      "The card was declined: the CVV is incorrect.",
	// Declines that live processors give (the sandbox has no test card
	// for them).
	"incorrect-number":        "The card was declined: the card number is incorrect.",
	"incorrect-zip":           "The card was declined: the ZIP/postal code does not match the card.",
	"limit-exceeded":          "The card was declined: it is over its spending or payment count limit.",
	"card-not-supported":      "The card does not support this kind of payment or currency.",
	"authentication-required": "The card was declined: the issuer requires 3-D Secure authentication, which the gateway cannot start.",
	"call-issuer":             "The card was declined; the cardholder should call the card issuer.",
	"try-again-later":         "The card issuer could not be reached; try again later.",
}

// IsDeclineCode reports whether code is one of the gateway's decline codes.
func IsDeclineCode(code string) bool {
	_, ok := declineMessages[code]
	return ok
}

// DeclineMessage is the sentence of a decline code; a code the gateway does
// not know reads as a plain decline.
func DeclineMessage(code string) string {
	if m, ok := declineMessages[code]; ok {
		return m
	}
	return declineMessages["card-declined"]
}
