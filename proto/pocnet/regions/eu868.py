"""EU868: Helium's deployed EU868 beacon parameters.

Sources:
- docs/protocol.md §3 (channels 867.1-868.5 MHz, max EIRP 16.1 dBm, tagged spreading), which follows
  Helium's deployed region parameters.
- LoRaWAN Regional Parameters RP002-1.0.4, clause 2.4 "EU863-870MHz ISM Band" (125 kHz
  channels, the 868.1/868.3/868.5 MHz default channels).
- Duty cycle: ETSI EN 300 220-2 V3.2.1 Annex B / ERC/REC 70-03 Annex 1, non-specific short
  range devices: band h1.3 (865-868 MHz, 25 mW e.r.p., 1 %) and band h1.4 (868.0-868.6 MHz,
  25 mW e.r.p., 1 %; "g1" in the older ERC/REC 70-03 numbering LoRaWAN texts use). docs/protocol.md
  §3 names the 1 % limit on 868.0-868.6 MHz.
"""

from pocnet.regions._types import RegionPlan, SubBand

_ETSI = "ETSI EN 300 220-2 Annex B / ERC/REC 70-03 Annex 1"

# docs/protocol.md §3: "≤65 SF12, ≤129 SF9, ≤238 SF8" (EU868 alone).
TAGGED_SPREADING = ((65, 12), (129, 9), (238, 8))

PLAN = RegionPlan(
    name="EU868",
    channels_hz=(
        867_100_000,
        867_300_000,
        867_500_000,
        867_700_000,
        867_900_000,
        868_100_000,
        868_300_000,
        868_500_000,
    ),
    bandwidth_hz=125_000,
    max_eirp_dbm_x10=161,
    tagged_spreading=TAGGED_SPREADING,
    sub_bands=(
        SubBand("h1.3", 865_000_000, 868_000_000, 0.01, _ETSI),
        SubBand("h1.4", 868_000_000, 868_600_000, 0.01, _ETSI),
    ),
    dwell_time_ms=0,
)
