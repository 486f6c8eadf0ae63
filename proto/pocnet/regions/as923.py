"""AS923-1, AS923-2, AS923-3, AS923-4: beacon parameters for the AS923 family.

Sources:
- docs/protocol.md §3, which follows Helium's deployed PoC region parameters (helium/miner
  `audit/var-poc-v11-params.erl`, REGION_PARAMS_AS923_1 … _4): eight channels per plan on a
  200 kHz raster (AS923-1 923.2-924.6 MHz), max EIRP 16.0 dBm, the wide tagged-spreading list,
  400 ms dwell time where required.
- LoRaWAN Regional Parameters RP002-1.0.4, clause 2.9 "AS923MHz ISM Band": AS923-1's default
  channels are 923.2 and 923.4 MHz, and the other groups are AS923-1 shifted by
  AS923_FREQ_OFFSET: AS923-2 -1.80 MHz, AS923-3 -6.60 MHz, AS923-4 -5.90 MHz (Helium's channel
  lists are exactly these shifts). Uplink dwell time 400 ms where local regulation requires it:
  recorded with `dwell_time_everywhere=False`, so transmitters apply it only where their
  operator says the country requires it.
"""

from pocnet.regions._types import WIDE_TAGGED_SPREADING, RegionPlan

# docs/protocol.md §3: AS923-1 923.2 to 924.6 MHz in 0.2 MHz steps, in Helium's stored order.
AS923_1_CHANNELS_HZ = tuple(923_200_000 + 200_000 * n for n in range(8))

# RP002-1.0.4 clause 2.9: AS923_FREQ_OFFSET per group, in Hz.
AS923_FREQ_OFFSET_HZ = {
    "AS923-1": 0,
    "AS923-2": -1_800_000,
    "AS923-3": -6_600_000,
    "AS923-4": -5_900_000,
}


def _plan(name: str) -> RegionPlan:
    offset = AS923_FREQ_OFFSET_HZ[name]
    return RegionPlan(
        name=name,
        channels_hz=tuple(f + offset for f in AS923_1_CHANNELS_HZ),
        bandwidth_hz=125_000,
        max_eirp_dbm_x10=160,
        tagged_spreading=WIDE_TAGGED_SPREADING,
        dwell_time_ms=400,
        dwell_time_everywhere=False,
    )


AS923_1 = _plan("AS923-1")
AS923_2 = _plan("AS923-2")
AS923_3 = _plan("AS923-3")
AS923_4 = _plan("AS923-4")
