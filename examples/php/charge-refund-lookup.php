<?php
// Charge the sandbox's Visa test card, refund part of it and look it up with
// the public CartGateway PHP SDK (yomalilabs/cartgateway-merchant), pointed
// at a local gateway: see examples/README.md for the one change the SDK
// needs (its base URL). Run: ACCOUNT_ID=… KEY=… php charge-refund-lookup.php

require 'vendor/autoload.php';

use CartGateway\CartGateway;
use CartGateway\Exceptions\ApiException;
use CartGateway\Models\ChargePayment;
use CartGateway\Models\LookupPayment;
use CartGateway\Models\RefundPayment;

$gateway = new CartGateway([
    'environment' => 'sandbox',
    'account_id' => getenv('ACCOUNT_ID'),
    'access_token' => getenv('KEY'),
]);

try {
    $charge = $gateway->chargePayment(new ChargePayment([
        'firstname' => 'Test',
        'lastname' => 'User',
        'email' => 'user3@example.com',
        'address' => '6 Pheasant Run',
        'zip' => '07733',
        'country' => 'US',
        'amount' => 2000, // cents
        'card_number' => '4242424242424242',
        'card_cvv' => '123',
        'card_expiry_month' => 10,
        'card_expiry_year' => 2031,
        // A new order each run: the SDK sends no Idempotency-Key, so the
        // gateway refuses the same order, amount and card within 10 minutes.
        'order_id' => 'php-example-' . time(),
        'source' => 'CartGateway PHP example',
    ]));
    echo "charged: {$charge->id} (AVS {$charge->avs_code}, CVV {$charge->cvv_code})\n";

    $refund = $gateway->refundPayment(new RefundPayment([
        'payment_id' => $charge->id,
        'amount' => 500,
    ]));
    echo "refunded: {$refund->id}\n";

    $lookup = $gateway->lookupPayment(new LookupPayment(['payment_id' => $charge->id]));
    echo "status: {$lookup->data->status}, captured {$lookup->data->amount_captured}, refunded {$lookup->data->amount_refunded}\n";
} catch (ApiException $e) {
    // A 4xx answer: its "error" text, e.g.
    // "400 - Bad Request. The card has insufficient funds (insufficient-funds)."
    echo 'refused: ' . $e->getMessage() . "\n";
    exit(1);
}
