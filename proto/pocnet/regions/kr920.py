"""KR920: beacon parameters for South Korea.

Sources:
- docs/protocol.md §3 (922.1-923.3 MHz, max EIRP 14.0 dBm, the wide tagged-spreading list
  of Helium's deployed PoC region parameters, helium/miner `audit/var-poc-v11-params.erl`).
- LoRaWAN Regional Parameters RP002-1.0.4, clause 2.13 "KR920-923MHz ISM Band": 125 kHz
  channels on a 200 kHz raster from 920.9 MHz; default channels 922.1, 922.3, 922.5 MHz.
  Listen-before-talk applies instead of a duty-cycle limit, so no sub-band is listed.
"""

from pocnet.regions._types import WIDE_TAGGED_SPREADING, RegionPlan

PLAN = RegionPlan(
    name="KR920",
    channels_hz=tuple(922_100_000 + 200_000 * n for n in range(7)),
    bandwidth_hz=125_000,
    max_eirp_dbm_x10=140,
    tagged_spreading=WIDE_TAGGED_SPREADING,
    dwell_time_ms=0,
)
