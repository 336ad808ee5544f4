#!/bin/sh
# Charge the sandbox's Visa test card, refund part of it, look it up:
# the raw requests, with the headers the PHP SDK sends.
#   ACCOUNT_ID=… KEY=… sh examples/curl/charge-refund-lookup.sh
set -eu
URL="${CARTGATEWAY_URL:-http://127.0.0.1:8080}"
: "${ACCOUNT_ID:?set ACCOUNT_ID (printed by cartgateway serve)}" "${KEY:?set KEY}"

cg() { # cg PATH JSON [HEADER]: POST JSON to the gateway
  curl -sS -X POST "$URL$1" \
    -H 'Accept: application/json' -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $KEY" -H "CARTGATEWAY-ACCOUNT-ID: $ACCOUNT_ID" \
    -H 'CARTGATEWAY-ENVIRONMENT: sandbox' -H 'CARTGATEWAY-VERSION: 2022-11-07' \
    ${3:+-H "$3"} --data-raw "$2"
}

ORDER="curl-example-$(date +%s)"
# The Idempotency-Key makes a retry of this exact request safe: the
# gateway answers it with the first answer and charges once.
ANSWER=$(cg /payment/charge '{"firstname":"Test","lastname":"User","email":"user3@example.com","address":"6 Pheasant Run","zip":"07733","country":"US","amount":2000,"card_number":"4242424242424242","card_cvv":"123","card_expiry_month":10,"card_expiry_year":2031,"order_id":"'"$ORDER"'"}' "Idempotency-Key: $ORDER-charge")
echo "charge: $ANSWER"
PAYMENT_ID=$(echo "$ANSWER" | sed -n 's/.*"id":"\([A-Z0-9]*\)".*/\1/p')

echo "refund: $(cg /payment/refund '{"payment_id":"'"$PAYMENT_ID"'","amount":500}' "Idempotency-Key: $ORDER-refund-1")"
echo "lookup: $(cg /payment/lookup '{"payment_id":"'"$PAYMENT_ID"'"}')"
