"""Beacon derivation and recognition (docs/protocol.md §4), byte for byte as Helium's gateway-rs
does it.

gateway-rs (beacon/src/beacon.rs) seeds rand_chacha's ChaCha12Rng with
SHA-256(remote data || i64_le(remote ts) || local data || i64_le(0)) and collects 51 samples
of rand's `Standard` u8 distribution, which takes the low byte of each `next_u32`: hence
"byte i = low byte of output word i", not the i-th keystream byte. Everything here is a pure
function of its inputs, so the hotspot that sends a beacon and the oracle that checks it derive
the same bytes.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pocnet.chacha import chacha_words, chacha_words_many
from pocnet.errors import DecodeError, EntropyError
from pocnet.regions import RegionPlan

# docs/protocol.md §4.
ENTROPY_LEN = 32
ENTROPY_SOURCE_LEN = 32
LOCAL_ENTROPY_LEN = 4
ENTROPY_INTERVAL_S = 60
ENTROPY_LIFETIME_S = 180
BEACON_WINDOW_S = 6 * 3600
# A hotspot schedules no beacon in a window's last 5 min: the oracle, which judges the window by
# its own receive time (docs/protocol.md §5 beacon rule 5), must hear it inside that window.
BEACON_END_MARGIN_S = 300
BEACON_PAYLOAD_LEN = 51
BEACON_FRAME_LEN = BEACON_PAYLOAD_LEN + 1
# LoRaWAN MHDR: MType 0b111 (proprietary) in bits 7..5, Major 0 in bits 1..0.
MHDR_PROPRIETARY = 0xE0
MTYPE_MASK = 0xE0
# rand_chacha's ChaCha12Rng (the generator gateway-rs uses for the payload).
BEACON_CHACHA_ROUNDS = 12

_I64 = struct.Struct("<q")


def _i64_le(value: int, what: str) -> bytes:
    try:
        return _I64.pack(value)
    except struct.error:
        raise EntropyError(f"{what} {value} does not fit a signed 64-bit integer") from None


def entropy_data(timestamp_s: int, source: bytes) -> bytes:
    """The oracle's 32-byte entropy value: SHA-256(i64_le(unix seconds) || source)."""
    if len(source) != ENTROPY_SOURCE_LEN:
        raise EntropyError(
            f"entropy source must be {ENTROPY_SOURCE_LEN} bytes, got {len(source)}"
        )
    return hashlib.sha256(_i64_le(timestamp_s, "entropy timestamp") + bytes(source)).digest()


@dataclass(frozen=True)
class Beacon:
    """A derived beacon: what goes on air and what the report and the verifier compare.

    `tx_power_dbm` is None when the antenna's gain exceeds the region's max EIRP: such a beacon
    is never sent (docs/protocol.md §4), but its payload, frequency and datarate still exist, and
    the verifier compares a reported beacon with them all the same.
    """

    data: bytes
    frequency_hz: int
    datarate: str
    tx_power_dbm: int | None
    remote_entropy: bytes
    remote_timestamp_s: int
    local_entropy: bytes

    @property
    def frame(self) -> bytes:
        """The 52 bytes on air (MHDR + payload)."""
        return on_air_frame(self.data)


def beacon_seed(remote_entropy: bytes, remote_timestamp_s: int, local_entropy: bytes) -> bytes:
    """SHA-256(remote || i64_le(remote ts) || local || i64_le(0)): the ChaCha12 key.

    The trailing zero is the local entropy's timestamp, always 0 in gateway-rs.
    """
    if len(remote_entropy) != ENTROPY_LEN:
        raise EntropyError(
            f"remote entropy must be {ENTROPY_LEN} bytes, got {len(remote_entropy)}"
        )
    if len(local_entropy) != LOCAL_ENTROPY_LEN:
        raise EntropyError(
            f"local entropy must be {LOCAL_ENTROPY_LEN} bytes, got {len(local_entropy)}"
        )
    hasher = hashlib.sha256(bytes(remote_entropy))
    hasher.update(_i64_le(remote_timestamp_s, "remote timestamp"))
    hasher.update(bytes(local_entropy))
    hasher.update(_i64_le(0, "local timestamp"))
    return hasher.digest()


def beacon_payload(seed: bytes) -> bytes:
    """51 bytes: the low byte of each of the first 51 ChaCha12 output words."""
    words = chacha_words(seed, BEACON_PAYLOAD_LEN, rounds=BEACON_CHACHA_ROUNDS)
    return bytes(w & 0xFF for w in words)


def beacon_payloads(seeds: Sequence[bytes]) -> dict[bytes, bytes]:
    """seed → `beacon_payload(seed)` for many seeds in one vectorised ChaCha12 pass.

    For the verifier, which regenerates a whole batch of beacons (needs numpy, the oracle's
    dependency); the bytes are the same rule as `beacon_payload`, checked against it in tests.
    """
    unique = list(dict.fromkeys(bytes(s) for s in seeds))
    words = chacha_words_many(unique, BEACON_PAYLOAD_LEN, rounds=BEACON_CHACHA_ROUNDS)
    low = (words & 0xFF).astype("u1")
    return {seed: low[i].tobytes() for i, seed in enumerate(unique)}


def derive_beacon(
    remote_entropy: bytes,
    remote_timestamp_s: int,
    local_entropy: bytes,
    plan: RegionPlan,
    gain_dbi_x10: int = 0,
    *,
    payloads: Mapping[bytes, bytes] | None = None,
) -> Beacon:
    """Derive the beacon a hotspot sends (and the oracle expects) for these entropies.

    `payloads` (seed → payload, from `beacon_payloads`) lets a batch skip the per-beacon
    ChaCha12; a seed missing from it is derived here.
    """
    seed = beacon_seed(remote_entropy, remote_timestamp_s, local_entropy)
    data = payloads.get(seed) if payloads is not None else None
    if data is None:
        data = beacon_payload(seed)
    channel_index = int.from_bytes(data[0:2], "little") % len(plan.channels_hz)
    return Beacon(
        data=data,
        frequency_hz=plan.channels_hz[channel_index],
        datarate=plan.beacon_datarate(BEACON_PAYLOAD_LEN),
        tx_power_dbm=plan.beacon_power_dbm(gain_dbi_x10),
        remote_entropy=bytes(remote_entropy),
        remote_timestamp_s=remote_timestamp_s,
        local_entropy=bytes(local_entropy),
    )


def on_air_frame(data51: bytes) -> bytes:
    """MHDR 0xE0 (LoRaWAN proprietary) followed by the 51-byte payload."""
    if len(data51) != BEACON_PAYLOAD_LEN:
        raise DecodeError(f"beacon payload must be {BEACON_PAYLOAD_LEN} bytes, got {len(data51)}")
    return bytes([MHDR_PROPRIETARY]) + bytes(data51)


def is_candidate_beacon(frame: bytes, crc_ok: bool = True) -> bool:
    """A received frame may be a beacon: 52 bytes, proprietary MType, good CRC.

    The CRC status comes from the radio, not the bytes; callers pass what the radio reported.
    """
    return crc_ok and len(frame) == BEACON_FRAME_LEN and frame[0] & MTYPE_MASK == MHDR_PROPRIETARY


def beacon_data(frame52: bytes) -> bytes:
    """The 51-byte payload of a candidate beacon frame."""
    if not is_candidate_beacon(frame52):
        raise DecodeError(
            f"not a beacon frame ({len(frame52)} bytes"
            + (f", MHDR 0x{frame52[0]:02x})" if frame52 else ")")
        )
    return bytes(frame52[1:])


def beacon_window(timestamp_s: int) -> int:
    """Start of the 6-hour UTC window (00/06/12/18 h) holding `timestamp_s`."""
    return timestamp_s - timestamp_s % BEACON_WINDOW_S


def beacon_tail_wait_s(now_s: float, lead_s: float) -> float:
    """How long someone about to start a hotspot must wait for its first beacon to fall in the
    window it starts in, when that beacon comes up to `lead_s` after now: zero, unless now is in
    a window's closing minutes (its last `BEACON_END_MARGIN_S` plus `lead_s`), then until the
    next window opens. The demo and the test harnesses wait this out rather than sit through
    a beacon the hotspot moves past the window's end."""
    window_end_s = beacon_window(int(now_s)) + BEACON_WINDOW_S
    if now_s + lead_s <= window_end_s - BEACON_END_MARGIN_S:
        return 0.0
    return window_end_s - now_s
