"""IN865: beacon parameters for India.

Sources:
- docs/protocol.md §3 (865.0625, 865.4025, 865.985 MHz, max EIRP 30.0 dBm, the wide
tagged-spreading list
  of Helium's deployed PoC region parameters, helium/miner `audit/var-poc-v11-params.erl`).
- LoRaWAN Regional Parameters RP002-1.0.4, clause 2.14 "IN865-867MHz ISM Band": these three are
  the default channels; no duty-cycle or dwell-time limit.
"""

from pocnet.regions._types import WIDE_TAGGED_SPREADING, RegionPlan

PLAN = RegionPlan(
    name="IN865",
    channels_hz=(865_062_500, 865_402_500, 865_985_000),
    bandwidth_hz=125_000,
    max_eirp_dbm_x10=300,
    tagged_spreading=WIDE_TAGGED_SPREADING,
    dwell_time_ms=0,
)
