-- Beacon rule 5 (docs/protocol.md §5, irregular interval) asks, once per beacon verified,
-- whether its hotspot has another beacon in the 6-hour window. Through the (hotspot_key,
-- received_ms) index that question read every report the hotspot stored in the window,
-- witnesses too (a few hundred per window at city densities), to find its one or two
-- beacons. This index holds beacons only (kind 0). The verifier's statement names the
-- kind as the literal 0: a query planner uses a partial index only where the statement
-- itself implies the index's condition.
CREATE INDEX reports_beacons ON reports (hotspot_key, received_ms) WHERE kind = 0;
