"""The hotspot registry: who may onboard, move or take over a hotspot, and the denylist.

Who must sign what (DESIGN "Who may do what"): onboarding needs the hotspot key, the owner
wallet it names and a maker on the operator's allowlist (below its quota); moving needs the
hotspot key and the current owner; a transfer needs the current owner. So the hotspot key alone
can change nothing, an owner wallet named in a message proves nothing unless it is the stored
owner, and only a maker the operator allowlisted (within its quota) brings a new key in, so
strangers cannot onboard themselves for free. Every signature covers the message with all
signature fields empty (registry.proto). The region follows from the asserted cell (PROTOCOL
§3); a cell in no known region is stored with no region, and the verifier then rejects that
hotspot's beacons as `not_asserted`. Each change takes one of the next `NONCE_WINDOW` nonces,
so a replay changes nothing and nobody can jump to the largest nonce to lock the owner out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Protocol

from oracle.errors import (
    BadReport,
    BadSignature,
    NotFound,
    NotOwner,
    RegistryError,
    StaleNonce,
    UnknownMaker,
    UntrustedOperator,
)
from oracle.storage.repository import Denial, EdgeDenial, Registration, Repository
from pocnet import geo, signing
from pocnet.errors import DecodeError, SignatureError
from pocnet.keys import PublicKey, verify_ed25519
from pocnet.signing import ASSERTION_SIGNATURES, TRANSFER_SIGNATURES
from pocnet.wire import registry_pb2

WALLET_KEY_LEN = 32
MAX_NONCE = 2**63 - 1  # stored as BIGINT
# A change takes one of the next 16 nonces: requests built offline (hotspot -> maker -> owner)
# may be submitted out of order, but nobody can skip ahead and lock the owner out.
NONCE_WINDOW = 16
GAIN_RANGE_DBI_X10 = (-100, 300)  # -10 to 30 dBi: anything else is a typo or a lie
ELEVATION_RANGE_M = (-500, 10_000)
CAPABILITIES = {registry_pb2.FULL: "full", registry_pb2.DATA_ONLY: "data_only"}
CAPABILITY_CODES = {name: code for code, name in CAPABILITIES.items()}


class Locator(Protocol):
    def region_at(self, lat: float, lon: float) -> str | None: ...


def _default_locator() -> Locator:
    from pocnet.regions.lookup import RegionLocator  # shapely: loaded only when needed

    return RegionLocator.default()


def hotspot_info(
    reg: Registration, denied: bool, denial: Denial | None = None,
    edges: Iterable[EdgeDenial] = (),
) -> registry_pb2.HotspotInfo:
    """The registration as the wire carries it; with `denial`, why it is denied, and with
    `edges`, the pairs with it whose witnessing is refused (the denylist is public: anyone may
    audit it, and an owner appeals with it in hand)."""
    info = registry_pb2.HotspotInfo(
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
        maker_key=reg.maker_key or b"",
    )
    if denied and denial is not None:
        info.denial.CopyFrom(registry_pb2.Denial(
            hotspot_key=denial.hotspot_key, reason=denial.reason, evidence=denial.evidence,
            expires_at_ms=denial.expires_ms))
    info.denied_edges.extend(
        registry_pb2.DeniedEdge(a=e.a, b=e.b, reason=e.reason, evidence=e.evidence,
                                expires_at_ms=e.expires_ms) for e in edges)
    return info


def check_nonce(nonce: int, previous: Registration | None) -> None:
    """The next nonce or one of the few after it; 0 is stored before onboarding."""
    stored = previous.nonce if previous is not None else 0
    if nonce <= stored:
        raise StaleNonce(f"nonce {nonce} is not above the stored nonce {stored}")
    if nonce > min(stored + NONCE_WINDOW, MAX_NONCE):
        raise RegistryError(f"nonce must be {stored + 1} to {stored + NONCE_WINDOW}, "
                            f"got {nonce}")


def _verify_wallet(wallet: bytes, canonical: bytes, signature: bytes, who: str) -> None:
    try:
        verify_ed25519(wallet, canonical, signature)
    except SignatureError as exc:
        raise BadSignature(f"{who} signature: {exc}") from None


class Registry:
    def __init__(
        self,
        repo: Repository,
        public_key: Callable[[bytes], PublicKey],
        clock_ms: Callable[[], int],
        operator_keys: Iterable[bytes] = (),
        locator: Callable[[], Locator] = _default_locator,
        on_asserted: Callable[[bytes], None] | None = None,
    ) -> None:
        """`public_key` decodes a wire key for this network (BadReport otherwise);
        `on_asserted(key)` hears of each stored assertion (ingest's onboarded-keys cache)."""
        self._on_asserted = on_asserted
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

    def check_assertion(
        self, msg: registry_pb2.LocationAssertion
    ) -> tuple[Registration, Registration | None]:
        """Validate and verify the signatures it needs; returns the registration it would
        store and the one it replaces (None when onboarding)."""
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
        previous = self._repo.hotspot(bytes(msg.hotspot_key))
        check_nonce(msg.nonce, previous)
        canonical = signing.canonical_bytes(msg, ASSERTION_SIGNATURES)
        try:
            hotspot.verify(canonical, bytes(msg.hotspot_signature))
        except SignatureError as exc:
            raise BadSignature(f"hotspot signature: {exc}") from None
        if previous is not None and bytes(msg.owner_wallet) != previous.owner_wallet:
            raise NotOwner("owner_wallet is not the hotspot's owner; a new owner needs a "
                           "transfer signed by the current owner")
        _verify_wallet(bytes(msg.owner_wallet), canonical, bytes(msg.owner_signature),
                       "owner wallet")
        maker = previous.maker_key if previous is not None else self._check_maker(msg, canonical)
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
            maker_key=maker,
        ), previous

    @staticmethod
    def _check_maker(msg: registry_pb2.LocationAssertion, canonical: bytes) -> bytes:
        """The maker's signature; whether it is allowlisted and below its quota is checked
        where the onboarding is stored, in the same transaction."""
        if not msg.maker_key:
            raise UnknownMaker("onboarding needs a maker's signature (maker_key is empty)")
        try:
            maker = PublicKey.from_bytes(bytes(msg.maker_key))
        except DecodeError as exc:
            raise BadReport(f"maker key: {exc}") from None
        try:
            maker.verify(canonical, bytes(msg.maker_signature))
        except SignatureError as exc:
            raise BadSignature(f"maker signature: {exc}") from None
        return maker.to_bytes()

    def assert_location(self, msg: registry_pb2.LocationAssertion) -> registry_pb2.HotspotInfo:
        reg, previous = self.check_assertion(msg)
        self._repo.apply_assertion(reg, msg.SerializeToString(), reg.asserted_at_ms, previous)
        if self._on_asserted is not None:
            self._on_asserted(reg.hotspot_key)
        return hotspot_info(reg, self._repo.is_denied(reg.hotspot_key))

    def transfer(self, msg: registry_pb2.OwnershipTransfer) -> registry_pb2.HotspotInfo:
        """A new owner, signed by the current one; location, gain and maker stay."""
        self._public_key(bytes(msg.hotspot_key))
        if len(msg.new_owner_wallet) != WALLET_KEY_LEN:
            raise RegistryError(f"new owner wallet must be {WALLET_KEY_LEN} bytes")
        previous = self._repo.hotspot(bytes(msg.hotspot_key))
        if previous is None:
            raise NotFound("hotspot is not registered")
        check_nonce(msg.nonce, previous)
        canonical = signing.canonical_bytes(msg, TRANSFER_SIGNATURES)
        try:
            verify_ed25519(previous.owner_wallet, canonical, bytes(msg.owner_signature))
        except SignatureError:
            raise NotOwner("transfer is not signed by the hotspot's current owner") from None
        reg = dataclasses.replace(previous, owner_wallet=bytes(msg.new_owner_wallet),
                                  nonce=msg.nonce)
        self._repo.apply_assertion(reg, msg.SerializeToString(), self._clock_ms(), previous,
                                   kind="transfer")
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
        edge_denials = [(bytes(e.a), bytes(e.b), e.reason, e.evidence, e.expires_at_ms)
                        for e in msg.edges if e.reason or e.evidence or e.expires_at_ms]
        denials = [(bytes(d.hotspot_key), d.reason, d.evidence, d.expires_at_ms)
                   for d in msg.denials]
        if not {d[0] for d in denials} <= set(keys):
            raise BadReport("denylist: a denial names a hotspot the update does not deny")
        for key in [*keys, *(k for e in edges for k in e)]:
            try:
                PublicKey.from_bytes(key)
            except DecodeError as exc:
                raise BadReport(f"denylist entry: {exc}") from None
        self._repo.replace_denylist(
            msg.version, operator, keys, edges, msg.SerializeToString(), self._clock_ms(),
            denials, edge_denials,
        )
        return msg.version

    def is_onboarded(self, key: bytes) -> bool:
        """Has a registration: report streams keep most of their slots for these keys."""
        return self._repo.hotspot(bytes(key)) is not None

    def info(self, key: bytes) -> registry_pb2.HotspotInfo:
        reg = self._repo.hotspot(bytes(key))
        if reg is None:
            raise NotFound("hotspot is not registered")
        now_ms = self._clock_ms()
        denied = self._repo.is_denied(reg.hotspot_key, now_ms)
        edges = [e for e in self._repo.edge_denials(reg.hotspot_key)
                 if not 0 < e.expires_ms <= now_ms]
        return hotspot_info(reg, denied, self._repo.denial(reg.hotspot_key) if denied else None,
                            edges)
