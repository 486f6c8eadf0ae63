-- Registry (issue 10): onboarding needs a maker on the operator's allowlist, within the maker's
-- quota of hotspots, so each hotspot records the maker that onboarded it (NULL for hotspots
-- onboarded before makers were required). Owners and makers are listed and filtered.
CREATE TABLE makers (
    maker_key BLOB PRIMARY KEY,
    name TEXT NOT NULL,
    quota BIGINT NOT NULL,
    added_ms BIGINT NOT NULL
);
ALTER TABLE hotspots ADD COLUMN maker_key BLOB;
CREATE INDEX hotspots_maker ON hotspots (maker_key);
CREATE INDEX hotspots_owner ON hotspots (owner_wallet);
-- Why a hotspot is denied (issue 16): reason, evidence and expiry travel in the signed update.
ALTER TABLE denied_hotspots ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE denied_hotspots ADD COLUMN evidence TEXT NOT NULL DEFAULT '';
ALTER TABLE denied_hotspots ADD COLUMN expires_ms BIGINT NOT NULL DEFAULT 0;
-- Ownership transfers signed by the current owner, kept as received (like `assertions`).
CREATE TABLE transfers (
    hotspot_key BLOB NOT NULL,
    nonce BIGINT NOT NULL,
    received_ms BIGINT NOT NULL,
    raw BLOB NOT NULL,
    PRIMARY KEY (hotspot_key, nonce)
);
