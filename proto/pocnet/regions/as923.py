"""AS923-1, AS923-2, AS923-3, AS923-4: beacon parameters for the AS923 family.

Sources:
- docs/protocol.md §3 (the plan's two default channels, max EIRP 16.0 dBm, tagged spreading
  as EU868, 400 ms dwell time where required).
- LoRaWAN Regional Parameters RP002-1.0.4, clause 2.9 "AS923MHz ISM Band": AS923-1 default
  channels 923.2 and 923.4 MHz; the other groups are AS923-1 shifted by AS923_FREQ_OFFSET:
  AS923-2 -1.80 MHz, AS923-3 -6.60 MHz, AS923-4 -5.90 MHz; uplink dwell time 400 ms where local
  regulation requires it: recorded with `dwell_time_everywhere=False`, so transmitters apply
  it only where their operator says the country requires it.
"""

from pocnet.regions import eu868
from pocnet.regions._types import RegionPlan

# RP002-1.0.4 clause 2.9.2: AS923-1 default channels.
AS923_1_DEFAULT_CHANNELS_HZ = (923_200_000, 923_400_000)

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
        channels_hz=tuple(f + offset for f in AS923_1_DEFAULT_CHANNELS_HZ),
        bandwidth_hz=125_000,
        max_eirp_dbm_x10=160,
        tagged_spreading=eu868.TAGGED_SPREADING,
        dwell_time_ms=400,
        dwell_time_everywhere=False,
    )


AS923_1 = _plan("AS923-1")
AS923_2 = _plan("AS923-2")
AS923_3 = _plan("AS923-3")
AS923_4 = _plan("AS923-4")
