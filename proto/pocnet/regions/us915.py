"""US915: Helium's deployed US915 beacon parameters.

Sources:
- docs/protocol.md §3 (903.9-905.3 MHz in 0.2 MHz steps, max EIRP 36.0 dBm, tagged spreading), which
  follows Helium's deployed region parameters (sub-band 2, LoRaWAN channels 8-15).
- LoRaWAN Regional Parameters RP002-1.0.4, clause 2.5 "US902-928MHz ISM Band": upstream
  125 kHz channels 902.3 + 0.2 x n MHz; 400 ms maximum dwell time (FCC 47 CFR 15.247).
- docs/protocol.md §3: 400 ms dwell time per channel per 20 s.
"""

from pocnet.regions._types import RegionPlan

# docs/protocol.md §3: "≤25 SF10, ≤67 SF9, ≤139 SF8, ≤256 SF7" (US915 alone).
TAGGED_SPREADING = ((25, 10), (67, 9), (139, 8), (256, 7))

PLAN = RegionPlan(
    name="US915",
    channels_hz=tuple(903_900_000 + 200_000 * n for n in range(8)),
    bandwidth_hz=125_000,
    max_eirp_dbm_x10=360,
    tagged_spreading=TAGGED_SPREADING,
    dwell_time_ms=400,
)
