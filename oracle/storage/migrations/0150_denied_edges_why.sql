-- Why a pair of hotspots may not witness each other (issue 13): reason, evidence and expiry
-- travel in the signed update, as they do for a denied hotspot (0110). An edge lapses at its
-- expiry even before the next denylist version drops it.
ALTER TABLE denied_edges ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE denied_edges ADD COLUMN evidence TEXT NOT NULL DEFAULT '';
ALTER TABLE denied_edges ADD COLUMN expires_ms BIGINT NOT NULL DEFAULT 0;
