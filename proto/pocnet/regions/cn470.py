"""CN470: beacon parameters for China.

Sources:
- docs/protocol.md §3 (486.3-487.7 MHz in 0.2 MHz steps, max EIRP 19.1 dBm, the wide
tagged-spreading
  list of Helium's deployed PoC region parameters, helium/miner `audit/var-poc-v11-params.erl`).
- LoRaWAN Regional Parameters RP002-1.0.4, clause 2.10 "CN470-510MHz Band": upstream 125 kHz
  channels 470.3 + 0.2 x n MHz (these are channels 80-87).
"""

from pocnet.regions._types import WIDE_TAGGED_SPREADING, RegionPlan

PLAN = RegionPlan(
    name="CN470",
    channels_hz=tuple(486_300_000 + 200_000 * n for n in range(8)),
    bandwidth_hz=125_000,
    max_eirp_dbm_x10=191,
    tagged_spreading=WIDE_TAGGED_SPREADING,
    dwell_time_ms=0,
)
