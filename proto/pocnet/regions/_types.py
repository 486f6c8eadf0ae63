"""The shape of a region plan: what a hotspot needs to pick a beacon's channel, datarate and power.

The per-region modules hold only data in these records; the rules that read them (datarate
choice, conducted power, duty cycle lookup) live here so every plan applies them the same way
(docs/protocol.md §3, §4).
"""

from __future__ import annotations

from dataclasses import dataclass

from pocnet.errors import RegionTableError

# docs/protocol.md §3 "wide list": the tagged spreading of every plan but EU868 and US915 (Helium's
# deployed PoC region parameters). Three entries of 25 bytes, so a 51-byte beacon skips SF12-SF10
# and goes out at SF9.
WIDE_TAGGED_SPREADING = ((25, 12), (25, 11), (25, 10), (67, 9), (139, 8), (256, 7))


@dataclass(frozen=True)
class SubBand:
    """A regulated frequency range with a transmit duty-cycle limit.

    `label` is the band's name in the document cited by `source` (e.g. ERC/REC 70-03 "h1.4"),
    so a reviewer can hold the regulation beside the table.
    """

    label: str
    low_hz: int  # inclusive
    high_hz: int  # exclusive, so adjacent bands do not overlap
    duty_cycle: float  # fraction of time on air, 0.01 = 1 %
    source: str = ""

    def contains(self, freq_hz: int) -> bool:
        return self.low_hz <= freq_hz < self.high_hz


@dataclass(frozen=True)
class RegionPlan:
    """One region's beacon parameters (docs/protocol.md §3).

    `max_eirp_dbm_x10` is in dBm x 10 as in Helium's region parameters. `tagged_spreading` is
    ((max_bytes, spreading_factor), ...) in the order the spec lists them; the beacon uses the
    first entry whose max size fits the payload. `dwell_time_ms` is the longest transmission
    allowed per channel per 20 s (0 = no dwell-time rule); `dwell_time_everywhere` is False
    where the plan's regulation imposes it only in some countries (AS923: "where required").
    """

    name: str
    channels_hz: tuple[int, ...]
    bandwidth_hz: int
    max_eirp_dbm_x10: int
    tagged_spreading: tuple[tuple[int, int], ...]
    sub_bands: tuple[SubBand, ...] = ()
    dwell_time_ms: int = 0
    dwell_time_everywhere: bool = True

    def __post_init__(self) -> None:
        # A plan is static data; a mistake in it is a bug, caught at import time.
        if not self.channels_hz:
            raise RegionTableError(f"{self.name}: no channels")
        if len(set(self.channels_hz)) != len(self.channels_hz):
            raise RegionTableError(f"{self.name}: duplicate channels")
        if not self.tagged_spreading:
            raise RegionTableError(f"{self.name}: no tagged spreading")
        sizes = [size for size, _ in self.tagged_spreading]
        if sizes != sorted(sizes):
            raise RegionTableError(f"{self.name}: tagged spreading not in size order")
        for _, sf in self.tagged_spreading:
            if not 5 <= sf <= 12:
                raise RegionTableError(f"{self.name}: spreading factor {sf} out of range")
        for band in self.sub_bands:
            if band.low_hz >= band.high_hz or not 0 < band.duty_cycle <= 1:
                raise RegionTableError(f"{self.name}: bad sub-band {band.label}")

    def beacon_spreading_factor(self, payload_len: int = 51) -> int:
        """The first tagged spreading (in table order) whose max size holds the payload."""
        for max_bytes, sf in self.tagged_spreading:
            if max_bytes >= payload_len:
                return sf
        raise RegionTableError(f"{self.name}: no spreading factor carries {payload_len} bytes")

    def beacon_datarate(self, payload_len: int = 51) -> str:
        """Datarate name as on the wire enum, e.g. "SF12BW125" (docs/protocol.md §4)."""
        sf = self.beacon_spreading_factor(payload_len)
        return f"SF{sf}BW{self.bandwidth_hz // 1000}"

    def max_conducted_dbm(self, gain_dbi_x10: int) -> int:
        """trunc(max_eirp/10 - gain/10) in whole dBm (docs/protocol.md §4).

        Integer arithmetic truncating toward zero, as gateway-rs' integer division does, so no
        float rounding can move a boundary value. Negative when the antenna's gain exceeds the
        region's max EIRP: the verifier compares reported powers with it as it is.
        """
        diff = self.max_eirp_dbm_x10 - gain_dbi_x10
        quotient = abs(diff) // 10
        return quotient if diff >= 0 else -quotient

    def beacon_power_dbm(self, gain_dbi_x10: int) -> int | None:
        """Conducted power a beacon goes out at, or None when no beacon may be sent.

        docs/protocol.md §4: a negative conducted power means no beacon (gateway-rs keeps the power
        unsigned and refuses to build such a beacon); the hotspot then only witnesses. 0 dBm is
        still a beacon.
        """
        power = self.max_conducted_dbm(gain_dbi_x10)
        return power if power >= 0 else None

    def enforced_dwell_time_ms(self, where_required: bool = False) -> int:
        """The dwell-time limit a transmitter must honour, 0 for none.

        docs/protocol.md §3: US915 everywhere, AS923 only "where required". A plan covers several
        countries, so a country-dependent limit is enforced only when the operator of the
        transmitter says its country requires it (`where_required`). Helium's AS923 beacon is
        SF9 (0.33 s on air), so it fits the 400 ms either way.
        """
        if self.dwell_time_everywhere or where_required:
            return self.dwell_time_ms
        return 0

    def duty_cycle_for(self, freq_hz: int) -> float | None:
        """Duty-cycle limit of the sub-band holding `freq_hz`, or None when none applies."""
        for band in self.sub_bands:
            if band.contains(freq_hz):
                return band.duty_cycle
        return None
