-- Rewards (owner: rewards helper, issue 7). One manifest per epoch, stored once: a recompute
-- must produce the same bytes or is refused (oracle/rewards/store.py).
CREATE TABLE rewards_manifests (
    epoch BIGINT PRIMARY KEY,
    merkle_root BLOB NOT NULL,
    manifest BLOB NOT NULL,
    computed_ms BIGINT NOT NULL
);
-- Per-hotspot amounts of each epoch (what QueryService.GetRewards reports).
CREATE TABLE rewards_hotspots (
    epoch BIGINT NOT NULL,
    hotspot_key BLOB NOT NULL,
    beacon_amount BIGINT NOT NULL,
    witness_amount BIGINT NOT NULL,
    PRIMARY KEY (epoch, hotspot_key)
);
-- Every non-zero reward share (docs/protocol.md §6: shares of 0 are not stored). Decimals as TEXT.
CREATE TABLE rewards_shares (
    epoch BIGINT NOT NULL,
    report_id BLOB NOT NULL,
    kind SMALLINT NOT NULL,
    hotspot_key BLOB NOT NULL,
    unit TEXT NOT NULL,
    scale TEXT NOT NULL,
    location_trust TEXT NOT NULL,
    share TEXT NOT NULL,
    PRIMARY KEY (epoch, report_id)
);
CREATE INDEX rewards_shares_hotspot ON rewards_shares (hotspot_key, epoch);
