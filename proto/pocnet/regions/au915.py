"""AU915: beacon parameters for Australia.

Sources:
- docs/protocol.md §3 (916.8-918.2 MHz in 0.2 MHz steps, max EIRP 30.0 dBm, the wide
tagged-spreading list
  of Helium's deployed PoC region parameters, helium/miner `audit/var-poc-v11-params.erl`).
- LoRaWAN Regional Parameters RP002-1.0.4, clause 2.8 "AU915-928MHz ISM Band": upstream 125 kHz
  channels 915.2 + 0.2 x n MHz (these are channels 8-15, sub-band 2).
"""

from pocnet.regions._types import WIDE_TAGGED_SPREADING, RegionPlan

PLAN = RegionPlan(
    name="AU915",
    channels_hz=tuple(916_800_000 + 200_000 * n for n in range(8)),
    bandwidth_hz=125_000,
    max_eirp_dbm_x10=300,
    tagged_spreading=WIDE_TAGGED_SPREADING,
    dwell_time_ms=0,
)
