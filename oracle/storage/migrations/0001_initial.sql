-- The oracle store (docs/storage.md). Generic SQL: the runner rewrites BLOB -> BYTEA on PostgreSQL.
-- Booleans are INTEGER 0/1 in both dialects; decimals are TEXT.

CREATE TABLE reports (
    id BLOB PRIMARY KEY,
    kind SMALLINT NOT NULL,
    hotspot_key BLOB NOT NULL,
    received_ms BIGINT NOT NULL,
    raw BLOB NOT NULL,
    data BLOB,
    remote_entropy BLOB,
    ready_ms BIGINT NOT NULL,
    fix_lat_e7 INTEGER,
    fix_lon_e7 INTEGER,
    status TEXT NOT NULL,
    claimed_by TEXT,
    claim_until_ms BIGINT
);
CREATE INDEX reports_queue ON reports (kind, status, ready_ms);
CREATE INDEX reports_data ON reports (data);
CREATE INDEX reports_hotspot ON reports (hotspot_key, received_ms);
CREATE INDEX reports_received ON reports (received_ms);

CREATE TABLE entropy (
    data BLOB PRIMARY KEY,
    timestamp_s BIGINT NOT NULL,
    version INTEGER NOT NULL,
    oracle_key BLOB NOT NULL,
    raw BLOB NOT NULL
);
CREATE INDEX entropy_time ON entropy (timestamp_s);

CREATE TABLE hotspots (
    hotspot_key BLOB PRIMARY KEY,
    owner_wallet BLOB NOT NULL,
    location BIGINT,
    gain_dbi_x10 INTEGER NOT NULL,
    elevation_m INTEGER NOT NULL,
    capability TEXT NOT NULL,
    region TEXT,
    nonce BIGINT NOT NULL,
    asserted_at_ms BIGINT NOT NULL
);

CREATE TABLE assertions (
    hotspot_key BLOB NOT NULL,
    nonce BIGINT NOT NULL,
    received_ms BIGINT NOT NULL,
    raw BLOB NOT NULL,
    PRIMARY KEY (hotspot_key, nonce)
);

CREATE TABLE denylist_versions (
    version BIGINT PRIMARY KEY,
    operator_key BLOB NOT NULL,
    received_ms BIGINT NOT NULL,
    raw BLOB NOT NULL
);

CREATE TABLE denied_hotspots (
    hotspot_key BLOB PRIMARY KEY,
    version BIGINT NOT NULL
);

CREATE TABLE denied_edges (
    a BLOB NOT NULL,
    b BLOB NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (a, b)
);

CREATE TABLE verdicts (
    report_id BLOB PRIMARY KEY,
    kind SMALLINT NOT NULL,
    hotspot_key BLOB NOT NULL,
    beacon_id BLOB,
    received_ms BIGINT NOT NULL,
    valid INTEGER NOT NULL,
    reason INTEGER,
    selected INTEGER NOT NULL,
    location_trust TEXT NOT NULL,
    passed_regular INTEGER NOT NULL,
    witnesses INTEGER NOT NULL,
    detail TEXT NOT NULL,
    verified_at_ms BIGINT NOT NULL
);
CREATE INDEX verdicts_hotspot ON verdicts (hotspot_key, kind, received_ms);
CREATE INDEX verdicts_beacon ON verdicts (beacon_id);
CREATE INDEX verdicts_received ON verdicts (received_ms);
