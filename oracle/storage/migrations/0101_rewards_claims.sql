-- Rewards (issue 7): one run at a time stores an epoch's details. A run claims the epoch with a
-- random token, renews the claim with every chunk it writes, and checks it in the same
-- transaction; another replica's run is refused while the claim is fresh and may take over a
-- claim left stale by a run that died (oracle/rewards/store.py).
CREATE TABLE rewards_claims (
    epoch BIGINT PRIMARY KEY,
    token BLOB NOT NULL,
    claimed_ms BIGINT NOT NULL
);
