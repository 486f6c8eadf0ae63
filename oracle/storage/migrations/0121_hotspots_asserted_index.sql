-- The onboarded-keys cache (oracle/onboarded.py) reads the registrations asserted since its
-- last refresh every 30 s; without this index each refresh scans every hotspot.
CREATE INDEX hotspots_asserted ON hotspots (asserted_at_ms);
