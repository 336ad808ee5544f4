-- Values the server keeps about itself. "secret_check" is an HMAC of a
-- fixed text under the server secret: a command given another secret than
-- the one the data was keyed with refuses to run instead of silently
-- missing duplicates and idempotent replays (cmd/cartgateway, secret.go).
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
