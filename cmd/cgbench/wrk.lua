-- cgbench's wrk script: one scenario of cmd/cgbench, driven by wrk.
--
-- cgbench writes a prelude above this text that sets the global cfg:
--   scenario     healthz, charge, authorize-capture, refund, lookup, checkout
--                or mixed
--   seed         the -seed, as a string (it goes into order ids)
--   streams      {amounts = N, ops = N}: seeds in 1..2147483646 of the
--                scenario's input streams, derived from -seed and its name
--   threads      wrk's -t
--   prefix       path of the base URL ("" or "/something")
--   account, key the account's id and private key
--   cards        the test cards, rotated over order numbers
--   expiry_year  of the test cards
--   order_base   order numbers used before this run: ours start above it
--   lookup_ids   (lookup, mixed) payment ids, separated by spaces
--   refund_ids   (refund, mixed) ids of seeded charges, separated by spaces
--   read_answers whether response() reads every answer; without it
--                wrk counts answers and errors itself, much faster
--
-- Every wrk thread has a Lua state of its own, with the state below in its
-- globals; done() runs in yet another state and sums the threads' globals,
-- fetched (copied) with thread:get. The answer to a request says what the
-- request was by its X-Request-Id, which the server echoes: a kind letter,
-- the thread and the thread's request number, e.g. "A-1-42".

local MODULUS = 2147483647 -- MINSTD: x = x * 48271 mod 2^31-1
local WAITING_CAP = 65536  -- authorizations waiting for their capture

local kindPath = {
   H = "/healthz",
   C = "/payment/charge",
   A = "/payment/authorize",
   P = "/payment/capture",
   R = "/payment/refund",
   L = "/payment/lookup",
   K = "/hosted/checkout/create",
   G = "/checkout/{token}",
}

-- The letter of a scenario of one kind of request.
local scenarioLetter = { healthz = "H", charge = "C", refund = "R", lookup = "L" }

local threads = {} -- in the setup/done state: wrk's thread objects

function setup(thread)
   threads[#threads + 1] = thread
   thread:set("tid", #threads)
end

local function split(list)
   local t = {}
   for id in string.gmatch(list or "", "%S+") do
      t[#t + 1] = id
   end
   return t
end

-- Per-thread state, set by init. Locals of the chunk are per thread too:
-- each thread loads this script into its own state.
local amountX, opsX  -- the two generators
local lookupIDs, nextLookup, refundIDs, nextRefund
local waiting, waitHead, waitTail -- FIFO of authorizations to capture
local headers, healthHeaders
local build -- the scenario's request builder

local function thread_seed(stream)
   -- 1..MODULUS-1 whatever tid is; thread 1 starts at the stream's seed.
   return (stream - 1 + (tid - 1) * 1000003) % (MODULUS - 1) + 1
end

local function nextAmount()
   amountX = (amountX * 48271) % MODULUS
   return 100 + amountX % (100000 - 100 + 1)
end

local function percent()
   opsX = (opsX * 48271) % MODULUS
   return opsX % 100
end

local paymentFormat = '{"firstname":"Test","lastname":"User","email":"user@example.com",' ..
   '"address":"6 Pheasant Run","city":"Holmdel","state":"NJ","zip":"07733","country":"US",' ..
   '"amount":%d,"card_number":"%s","card_cvv":"123","card_expiry_month":10,' ..
   '"card_expiry_year":%d,"order_id":"cgb-%s-%d-%d"}'

local function post(letter, path, body)
   sent = sent + 1
   headers["X-Request-Id"] = letter .. "-" .. tid .. "-" .. sent
   return wrk.format("POST", cfg.prefix .. path, headers, body)
end

local function payment(letter, path)
   orders = orders + 1
   local n = cfg.order_base + orders
   local card = cfg.cards[n % #cfg.cards + 1]
   return post(letter, path, string.format(paymentFormat, nextAmount(), card, cfg.expiry_year, cfg.seed, tid, n))
end

local function charge() return payment("C", "/payment/charge") end
local function authorize() return payment("A", "/payment/authorize") end

-- captureOrAuthorize captures an authorization that has completed if one
-- waits, and otherwise authorizes: it never waits for one.
local function captureOrAuthorize()
   if waitHead == waitTail then
      return authorize()
   end
   local id = waiting[waitHead % WAITING_CAP]
   waiting[waitHead % WAITING_CAP] = nil
   waitHead = waitHead + 1
   return post("P", "/payment/capture", '{"authorized_payment_id":"' .. id .. '","amount":100}')
end

-- The checkout scenario: the merchant creates a hosted checkout, and its
-- customer opens the page. A worker opens a created page if one waits, and
-- otherwise creates one (the queue of authorizations holds the pages).
local checkoutBody = '{"reference":"cgbench","success_url":"https://shop.example/ok","cancel_url":"https://shop.example/cart",' ..
   '"products":[{"name":"My Product","amount":1000,"codename":null,"quantity":1,"image_url":null},' ..
   '{"name":"My Product","amount":1000,"codename":null,"quantity":2,"image_url":null}],"tax_amount":250,"shipping_amount":59}'

local function pageOrCreate()
   if waitHead == waitTail then
      return post("K", "/hosted/checkout/create", checkoutBody)
   end
   local path = waiting[waitHead % WAITING_CAP]
   waiting[waitHead % WAITING_CAP] = nil
   waitHead = waitHead + 1
   sent = sent + 1
   healthHeaders["X-Request-Id"] = "G-" .. tid .. "-" .. sent
   return wrk.format("GET", path, healthHeaders, nil)
end

local function refund()
   local id = refundIDs[nextRefund]
   nextRefund = nextRefund % #refundIDs + 1
   return post("R", "/payment/refund", '{"payment_id":"' .. id .. '","amount":1}')
end

local function lookup()
   local id = lookupIDs[nextLookup]
   nextLookup = nextLookup % #lookupIDs + 1
   return post("L", "/payment/lookup", '{"payment_id":"' .. id .. '"}')
end

local function healthz()
   sent = sent + 1
   healthHeaders["X-Request-Id"] = "H-" .. tid .. "-" .. sent
   return wrk.format("GET", cfg.prefix .. "/healthz", healthHeaders, nil)
end

-- mixed is a shop's day: 45% charge, 25% lookup, 10% authorize, 10% capture
-- of a waiting authorization (an authorize when none waits), 10% refund.
local function mixed()
   local p = percent()
   if p < 45 then
      return charge()
   elseif p < 70 then
      return lookup()
   elseif p < 80 then
      return authorize()
   elseif p < 90 then
      return captureOrAuthorize()
   end
   return refund()
end

local builders = {
   healthz = healthz,
   charge = charge,
   ["authorize-capture"] = captureOrAuthorize,
   refund = refund,
   lookup = lookup,
   checkout = pageOrCreate,
   mixed = mixed,
}

-- An id list's start for this thread: threads spread over the list.
local function start(ids)
   return math.floor((tid - 1) * #ids / cfg.threads) % #ids + 1
end

function init(args)
   build = builders[cfg.scenario]
   assert(build, "cgbench: unknown scenario " .. tostring(cfg.scenario))
   amountX = thread_seed(cfg.streams.amounts)
   opsX = thread_seed(cfg.streams.ops)
   lookupIDs, refundIDs = split(cfg.lookup_ids), split(cfg.refund_ids)
   if cfg.scenario == "lookup" or cfg.scenario == "mixed" then
      assert(#lookupIDs > 0, "cgbench: no ids to look up")
      nextLookup = start(lookupIDs)
   end
   if cfg.scenario == "refund" or cfg.scenario == "mixed" then
      assert(#refundIDs > 0, "cgbench: no ids to refund")
      nextRefund = start(refundIDs)
   end
   waiting, waitHead, waitTail = {}, 0, 0
   headers = {
      ["Content-Type"] = "application/json",
      ["Authorization"] = "Bearer " .. cfg.key,
      ["CARTGATEWAY-ACCOUNT-ID"] = cfg.account,
   }
   healthHeaders = {}

   -- What done() fetches.
   sent = 0      -- requests built
   orders = 0    -- order numbers used
   ops = {}      -- answers by path
   failed = 0    -- answers neither 200 nor 429
   limited = 0   -- 429 answers
   kinds = {}    -- failed answers by "<status> <code>"
   captures = 0  -- captures answered 200: completed pairs

   -- wrk parses answers for the script only when response is set after
   -- init (wrk's SCRIPTING): that costs it more than the server's work
   -- for a lookup.
   if not cfg.read_answers then
      response = nil
   end
end

function request()
   return build()
end

local queueAuthorizations = cfg.scenario == "authorize-capture" or cfg.scenario == "mixed"

function response(status, hdrs, body)
   local rid = hdrs["X-Request-Id"]
   local letter = rid and string.sub(rid, 1, 1)
   local path = kindPath[letter] or "unknown"
   ops[path] = (ops[path] or 0) + 1
   if status == 200 then
      if letter == "A" then
         if queueAuthorizations and waitTail - waitHead < WAITING_CAP then
            -- A full queue leaves the authorization uncaptured.
            local id = string.match(body, '"id"%s*:%s*"([A-Z0-9]+)"')
            if id then
               waiting[waitTail % WAITING_CAP] = id
               waitTail = waitTail + 1
            end
         end
      elseif letter == "P" or letter == "G" then
         captures = captures + 1 -- a completed pair
      elseif letter == "K" and waitTail - waitHead < WAITING_CAP then
         -- The page's path (with the server's prefix) from its URL.
         local path = string.match(body, '"url"%s*:%s*"https?://[^/"]*(/[^"]*)"')
         if path then
            waiting[waitTail % WAITING_CAP] = path
            waitTail = waitTail + 1
         end
      end
   elseif status == 429 then
      limited = limited + 1 -- the server's rate limits: counted apart
   else
      failed = failed + 1
      local code = body and string.match(body, '"code"%s*:%s*"([^"]*)"')
      local kind = code and (status .. " " .. code) or tostring(status)
      kinds[kind] = (kinds[kind] or 0) + 1
   end
end

-- JSON output of done().

local function jsonString(s)
   return '"' .. string.gsub(s, '[%c"\\]', function(c)
      return string.format("\\u%04x", string.byte(c))
   end) .. '"'
end

local function int(n) return string.format("%.0f", n) end
local function float(x) return string.format("%.6f", x) end

local function counts(t)
   local keys = {}
   for k in pairs(t) do keys[#keys + 1] = k end
   table.sort(keys)
   local parts = {}
   for _, k in ipairs(keys) do
      parts[#parts + 1] = jsonString(k) .. ":" .. int(t[k])
   end
   return "{" .. table.concat(parts, ",") .. "}"
end

local function add(into, from)
   for k, v in pairs(from or {}) do into[k] = (into[k] or 0) + v end
end

-- done prints one line, "CGBENCH-RESULT <json>", in the fields of cgbench's
-- result (milliseconds and seconds: wrk measures in microseconds).
function done(summary, latency, rates)
   local total = { ops = {}, kinds = {}, failed = 0, limited = 0, captures = 0, orders = 0, answered = 0 }
   for _, t in ipairs(threads) do
      add(total.ops, t:get("ops"))
      add(total.kinds, t:get("kinds"))
      total.failed = total.failed + (t:get("failed") or 0)
      total.limited = total.limited + (t:get("limited") or 0)
      total.captures = total.captures + (t:get("captures") or 0)
      total.orders = math.max(total.orders, t:get("orders") or 0)
   end
   if not cfg.read_answers then
      -- wrk's tally: every answer, and those of status 400 or more.
      total.ops[kindPath[scenarioLetter[cfg.scenario]]] = summary.requests
      local status = summary.errors.status or 0
      if status > 0 then
         total.kinds["status >= 400 (answers not read)"] = status
         total.failed = total.failed + status
      end
   end
   for _, n in pairs(total.ops) do total.answered = total.answered + n end
   -- wrk's own errors: no answer at all. (Its "status" errors are answers
   -- >= 400, which response() saw when it read answers.)
   for _, name in ipairs({ "connect", "read", "write", "timeout" }) do
      local n = summary.errors[name] or 0
      if n > 0 then
         total.kinds["transport: wrk " .. name] = n
         total.failed = total.failed + n
      end
   end
   local seconds = summary.duration / 1e6
   local perSecond = function(n)
      if seconds > 0 then return n / seconds end
      return 0
   end
   local fields = {
      '"scenario":' .. jsonString(cfg.scenario),
      '"requests":' .. int(summary.requests),
      '"seconds":' .. float(seconds),
      '"req_per_s":' .. float(perSecond(summary.requests)),
      '"p50_ms":' .. float(latency:percentile(50) / 1000),
      '"p90_ms":' .. float(latency:percentile(90) / 1000),
      '"p99_ms":' .. float(latency:percentile(99) / 1000),
      '"max_ms":' .. float(latency.max / 1000),
      '"errors":' .. int(total.failed),
      '"limited_429":' .. int(total.limited),
      '"error_kinds":' .. counts(total.kinds),
      '"ops":' .. counts(total.ops),
      '"answered":' .. int(total.answered),
      '"orders":' .. int(total.orders),
   }
   if cfg.scenario == "authorize-capture" or cfg.scenario == "checkout" then
      fields[#fields + 1] = '"pairs_per_s":' .. float(perSecond(total.captures))
   end
   io.write("CGBENCH-RESULT {" .. table.concat(fields, ",") .. "}\n")
   io.stdout:flush()
end
