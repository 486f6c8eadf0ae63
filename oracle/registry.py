"""The hotspot registry: onboarding / location assertions and the operator's denylist.

An assertion counts only when signed by the hotspot key AND by the owner's Solana wallet key,
both over the message with both signature fields empty (registry.proto). The region follows
from the asserted cell (docs/protocol.md §3); a cell in no known region is stored with no region,
and the verifier then rejects that hotspot's beacons as `not_asserted`. Nonces and denylist
versions only move forward, so a replayed message changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from oracle.errors import BadReport, BadSignature, NotFound, RegistryError, UntrustedOperator
from oracle.storage.repository import Registration, Repository
from pocnet import geo, signing
from pocnet.errors import DecodeError, SignatureError
from pocnet.keys import PublicKey, verify_ed25519
from pocnet.wire import registry_pb2

ASSERTION_SIGNATURES = ("hotspot_signature", "owner_signature")
WALLET_KEY_LEN = 32
MAX_NONCE = 2**63 - 1  # stored as BIGINT
GAIN_RANGE_DBI_X10 = (-100, 300)  # -10 to 30 dBi: anything else is a typo or a lie
ELEVATION_RANGE_M = (-500, 10_000)
CAPABILITIES = {registry_pb2.FULL: "full", registry_pb2.DATA_ONLY: "data_only"}
CAPABILITY_CODES = {name: code for code, name in CAPABILITIES.items()}


class Locator(Protocol):
    def region_at(self, lat: float, lon: float) -> str | None: ...


def _default_locator() -> Locator:
    from pocnet.regions.lookup import RegionLocator  # shapely: loaded only when needed

    return RegionLocator.default()


def hotspot_info(reg: Registration, denied: bool) -> registry_pb2.HotspotInfo:
    return registry_pb2.HotspotInfo(
        hotspot_key=reg.hotspot_key,
        owner_wallet=reg.owner_wallet,
        location=reg.location or 0,
        gain=reg.gain_dbi_x10,
        elevation=reg.elevation_m,
        capability=CAPABILITY_CODES[reg.capability],
        region=reg.region or "",
        nonce=reg.nonce,
        asserted_at_ms=reg.asserted_at_ms,
        denied=denied,
    )


class Registry:
    def __init__(
        self,
        repo: Repository,
        public_key: Callable[[bytes], PublicKey],
        clock_ms: Callable[[], int],
        operator_keys: Iterable[bytes] = (),
        locator: Callable[[], Locator] = _default_locator,
    ) -> None:
        """`public_key` decodes a wire key for this network (BadReport otherwise)."""
        self._repo = repo
        self._public_key = public_key
        self._clock_ms = clock_ms
        self._operators = {bytes(k) for k in operator_keys}
        self._locator_factory = locator
        self._locator: Locator | None = None

    def _region(self, cell: int) -> str | None:
        if self._locator is None:
            self._locator = self._locator_factory()
        lat, lon = geo.cell_to_latlng(geo.Cell(cell))
        return self._locator.region_at(lat, lon)

    def check_assertion(self, msg: registry_pb2.LocationAssertion) -> Registration:
        """Validate and verify both signatures; returns the registration it would store."""
        hotspot = self._public_key(bytes(msg.hotspot_key))
        if len(msg.owner_wallet) != WALLET_KEY_LEN:
            raise RegistryError(f"owner wallet must be {WALLET_KEY_LEN} bytes")
        location: int | None = None
        if msg.location:
            if not geo.is_valid_cell(msg.location):
                raise RegistryError(f"location {msg.location:x} is not an H3 cell")
            if geo.resolution(geo.Cell(msg.location)) != geo.ASSERT_RES:
                raise RegistryError(f"location must be an H3 cell at resolution {geo.ASSERT_RES}")
            location = msg.location
        if not GAIN_RANGE_DBI_X10[0] <= msg.gain <= GAIN_RANGE_DBI_X10[1]:
            raise RegistryError(f"gain {msg.gain / 10} dBi is outside -10..30 dBi")
        if not ELEVATION_RANGE_M[0] <= msg.elevation <= ELEVATION_RANGE_M[1]:
            raise RegistryError(f"elevation {msg.elevation} m is outside -500..10000 m")
        if msg.capability not in CAPABILITIES:
            raise RegistryError(f"unknown capability {msg.capability}")
        if not 0 < msg.nonce <= MAX_NONCE:
            raise RegistryError("nonce must be between 1 and 2^63-1")
        canonical = signing.canonical_bytes(msg, ASSERTION_SIGNATURES)
        try:
            hotspot.verify(canonical, bytes(msg.hotspot_signature))
        except SignatureError as exc:
            raise BadSignature(f"hotspot signature: {exc}") from None
        try:
            verify_ed25519(bytes(msg.owner_wallet), canonical, bytes(msg.owner_signature))
        except SignatureError as exc:
            raise BadSignature(f"owner wallet signature: {exc}") from None
        return Registration(
            hotspot_key=bytes(msg.hotspot_key),
            owner_wallet=bytes(msg.owner_wallet),
            location=location,
            gain_dbi_x10=msg.gain,
            elevation_m=msg.elevation,
            capability=CAPABILITIES[msg.capability],
            region=self._region(location) if location is not None else None,
            nonce=msg.nonce,
            asserted_at_ms=self._clock_ms(),
        )

    def assert_location(self, msg: registry_pb2.LocationAssertion) -> registry_pb2.HotspotInfo:
        reg = self.check_assertion(msg)
        self._repo.apply_assertion(reg, msg.SerializeToString(), reg.asserted_at_ms)
        return hotspot_info(reg, self._repo.is_denied(reg.hotspot_key))

    def update_denylist(self, msg: registry_pb2.DenylistUpdate) -> int:
        """Replace the denylist with a newer signed version; returns the version."""
        operator = bytes(msg.operator_key)
        if operator not in self._operators:
            raise UntrustedOperator("denylist signed by a key this oracle does not trust")
        try:
            signing.verify(msg, PublicKey.from_bytes(operator))
        except (SignatureError, DecodeError) as exc:
            raise BadSignature(f"denylist signature: {exc}") from None
        if not 0 < msg.version <= MAX_NONCE:
            raise RegistryError("denylist version must be between 1 and 2^63-1")
        keys = [bytes(k) for k in msg.hotspots]
        edges = [(bytes(e.a), bytes(e.b)) for e in msg.edges]
        for key in [*keys, *(k for e in edges for k in e)]:
            try:
                PublicKey.from_bytes(key)
            except DecodeError as exc:
                raise BadReport(f"denylist entry: {exc}") from None
        self._repo.replace_denylist(
            msg.version, operator, keys, edges, msg.SerializeToString(), self._clock_ms()
        )
        return msg.version

    def is_onboarded(self, key: bytes) -> bool:
        """Has a registration: report streams keep most of their slots for these keys."""
        return self._repo.hotspot(bytes(key)) is not None

    def info(self, key: bytes) -> registry_pb2.HotspotInfo:
        reg = self._repo.hotspot(bytes(key))
        if reg is None:
            raise NotFound("hotspot is not registered")
        return hotspot_info(reg, self._repo.is_denied(reg.hotspot_key))
