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
}

// DeclineMessage is the sentence of a decline code; a code the gateway does
// not know reads as a plain decline.
func DeclineMessage(code string) string {
	if m, ok := declineMessages[code]; ok {
		return m
	}
	return declineMessages["card-declined"]
}
