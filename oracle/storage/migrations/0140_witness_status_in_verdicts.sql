-- A witness's verification state lives in `verdicts` alone (docs/storage.md): no verdict row
-- = pending, a verdict without a beacon (the sweep's) = stale, any other = verified. Storing
-- a verdict is then one write, not two: the status UPDATE on `reports` was ~8 of the ~21 µs
-- a verdict's writes cost (docs/benchmarks.md). A witness's `reports.status` keeps the value
-- it was stored with and is read by nobody; beacons are still claimed through it.
--
-- The stale sweep found pending witnesses through the queue index; a witness now stays there
-- as stored, so the sweep reads witnesses by receive time instead, from where it stopped:
-- `swept_ms`, every witness received at or before it has a verdict (the sweep moves it up,
-- `reset_verification` and an import of older reports move it down). It starts just below
-- the oldest witness still pending in a store migrated from 0130 (else at the newest
-- witness, else -1: nothing swept).
CREATE TABLE witness_sweep (
    id INTEGER PRIMARY KEY,
    swept_ms BIGINT NOT NULL
);
INSERT INTO witness_sweep (id, swept_ms)
SELECT 0, COALESCE(
    (SELECT min(received_ms) - 1 FROM reports WHERE kind = 1 AND status = 'pending'),
    (SELECT max(received_ms) FROM reports WHERE kind = 1),
    -1);
-- The queue holds beacons only: witnesses never leave it now, and every statement that reads
-- it asks for beacons (the literal kind 0 in the statement, so a planner takes the partial
-- index). One index entry fewer for each witness an import stores.
DROP INDEX reports_queue;
CREATE INDEX reports_queue ON reports (status, ready_ms) WHERE kind = 0;
