"""Registry: who may onboard (hotspot, owner, allowlisted maker within quota), move (hotspot
and current owner) and transfer (current owner) a hotspot; H3 res-12, region from the cell,
nonces within the next 16; the operator's signed, versioned denylist. Domain and gRPC."""

from __future__ import annotations

import grpc
import pytest
from oracle_factories import MAKER, allow_maker, assertion, denylist, keypair, transfer

from oracle.errors import (
    BadReport,
    BadSignature,
    MakerQuotaExhausted,
    NotFound,
    NotOwner,
    RegistryError,
    StaleNonce,
    StaleVersion,
    UnknownMaker,
    UntrustedOperator,
)
from oracle.registry import Registry
from oracle.storage.repository import Repository
from pocnet import geo, signing
from pocnet.keys import Network, PublicKey
from pocnet.wire import registry_pb2, service_pb2_grpc

HOTSPOT, OWNER, OPERATOR, THIEF = keypair(1), keypair(2), keypair(3), keypair(8)


class _Locator:
    def region_at(self, lat: float, lon: float) -> str | None:
        return "EU868" if 35 < lat < 70 and -10 < lon < 30 else None


def _key(raw: bytes) -> PublicKey:
    key = PublicKey.from_bytes(raw)
    if key.network != Network.MAINNET:
        raise BadReport("wrong network")
    return key


@pytest.fixture
def registry(repo: Repository) -> Registry:
    allow_maker(repo)
    return Registry(repo, _key, lambda: 42, [OPERATOR.public_key.to_bytes()], lambda: _Locator())


def test_onboard_derives_region_and_stores(registry: Registry, repo: Repository) -> None:
    info = registry.assert_location(assertion(HOTSPOT, OWNER))
    assert info.region == "EU868" and info.nonce == 1 and not info.denied
    reg = repo.hotspot(HOTSPOT.public_key.to_bytes())
    assert reg is not None and reg.owner_wallet == OWNER.public_key.raw
    assert reg.location is not None and geo.resolution(geo.Cell(reg.location)) == 12
    assert reg.capability == "full" and reg.gain_dbi_x10 == 30 and reg.asserted_at_ms == 42
    assert reg.maker_key == MAKER.public_key.to_bytes() == info.maker_key


def test_location_in_no_region_is_stored_without_region(registry: Registry) -> None:
    info = registry.assert_location(assertion(HOTSPOT, OWNER, lat=-40.0, lon=-120.0))
    assert info.region == ""


def test_both_signatures_are_required(registry: Registry, repo: Repository) -> None:
    msg = assertion(HOTSPOT, OWNER)
    msg.owner_signature = keypair(9).sign(b"something else")
    with pytest.raises(BadSignature, match="owner"):
        registry.assert_location(msg)
    msg = assertion(HOTSPOT, OWNER)
    msg.hotspot_signature = b""
    with pytest.raises(BadSignature, match="hotspot"):
        registry.assert_location(msg)
    msg = assertion(HOTSPOT, OWNER)
    msg.gain = 40  # changed after signing
    with pytest.raises(BadSignature):
        registry.assert_location(msg)
    assert repo.hotspot(HOTSPOT.public_key.to_bytes()) is None


def test_replay_and_old_nonce_refused(registry: Registry) -> None:
    first = assertion(HOTSPOT, OWNER, nonce=5)
    registry.assert_location(first)
    with pytest.raises(StaleNonce):
        registry.assert_location(first)
    with pytest.raises(StaleNonce):
        registry.assert_location(assertion(HOTSPOT, OWNER, nonce=4, lat=50.0))
    moved = registry.assert_location(assertion(HOTSPOT, OWNER, nonce=6, lat=50.0, lon=8.0))
    assert moved.nonce == 6


def test_hotspot_key_alone_cannot_take_ownership(registry: Registry, repo: Repository) -> None:
    """Issue 10 item 2: hotspot + a NEW wallet used to replace the owner."""
    registry.assert_location(assertion(HOTSPOT, OWNER))
    with pytest.raises(NotOwner):
        registry.assert_location(assertion(HOTSPOT, THIEF, nonce=2))
    reg = repo.hotspot(HOTSPOT.public_key.to_bytes())
    assert reg is not None and reg.owner_wallet == OWNER.public_key.raw and reg.nonce == 1


def test_moving_needs_the_current_owners_signature(registry: Registry) -> None:
    registry.assert_location(assertion(HOTSPOT, OWNER))
    forged = assertion(HOTSPOT, OWNER, nonce=2, lat=50.0)
    forged.owner_signature = THIEF.sign(b"anything")
    with pytest.raises(BadSignature, match="owner"):
        registry.assert_location(forged)
    moved = assertion(HOTSPOT, OWNER, nonce=2, lat=50.0, lon=8.0, maker=None)
    assert registry.assert_location(moved).nonce == 2  # a move needs no maker


def test_a_nonce_may_not_jump_to_the_maximum(registry: Registry) -> None:
    """Issue 10 item 2: nonce 2^63-1 used to lock the real owner out for good."""
    registry.assert_location(assertion(HOTSPOT, OWNER))
    with pytest.raises(RegistryError, match="nonce must be 2 to 17"):
        registry.assert_location(assertion(HOTSPOT, OWNER, nonce=2**63 - 1))
    assert registry.assert_location(assertion(HOTSPOT, OWNER, nonce=2)).nonce == 2


def test_nonce_window_is_the_next_sixteen(registry: Registry) -> None:
    other = keypair(30)
    with pytest.raises(RegistryError, match="nonce must be 1 to 16"):
        registry.assert_location(assertion(other, OWNER, nonce=17))
    assert registry.assert_location(assertion(other, OWNER, nonce=16)).nonce == 16
    with pytest.raises(RegistryError):
        registry.assert_location(assertion(other, OWNER, nonce=33))
    assert registry.assert_location(assertion(other, OWNER, nonce=32)).nonce == 32


def test_transfer_needs_the_current_owner(registry: Registry, repo: Repository) -> None:
    registry.assert_location(assertion(HOTSPOT, OWNER))
    with pytest.raises(NotOwner):
        registry.transfer(transfer(HOTSPOT, THIEF, THIEF, nonce=2))  # new owner signs
    with pytest.raises(NotOwner):
        registry.transfer(transfer(HOTSPOT, THIEF, HOTSPOT, nonce=2))  # hotspot key signs
    new_owner = keypair(40)
    signed = transfer(HOTSPOT, new_owner, OWNER, nonce=2)
    info = registry.transfer(signed)
    assert info.owner_wallet == new_owner.public_key.raw and info.nonce == 2
    with pytest.raises(StaleNonce):
        registry.transfer(signed)
    with pytest.raises(NotOwner):
        registry.assert_location(assertion(HOTSPOT, OWNER, nonce=3))  # the old owner
    assert registry.assert_location(assertion(HOTSPOT, new_owner, nonce=3)).nonce == 3
    reg = repo.hotspot(HOTSPOT.public_key.to_bytes())
    assert reg is not None and reg.maker_key == MAKER.public_key.to_bytes()
    with pytest.raises(NotFound):
        registry.transfer(transfer(keypair(41), new_owner, OWNER, nonce=1))


def test_onboarding_needs_an_allowlisted_maker(registry: Registry, repo: Repository) -> None:
    """Issue 10 item 7: keys used to onboard themselves for free."""
    with pytest.raises(UnknownMaker):
        registry.assert_location(assertion(HOTSPOT, OWNER, maker=None))
    with pytest.raises(UnknownMaker):
        registry.assert_location(assertion(HOTSPOT, OWNER, maker=keypair(50)))
    forged = assertion(HOTSPOT, OWNER)
    forged.maker_signature = keypair(50).sign(b"x")
    with pytest.raises(BadSignature, match="maker"):
        registry.assert_location(forged)
    assert repo.hotspot(HOTSPOT.public_key.to_bytes()) is None


def test_maker_quota_is_exact(registry: Registry, repo: Repository) -> None:
    small = keypair(60)
    allow_maker(repo, small, quota=2)
    for seed in (61, 62):
        registry.assert_location(assertion(keypair(seed), OWNER, maker=small))
    with pytest.raises(MakerQuotaExhausted, match="quota of 2"):
        registry.assert_location(assertion(keypair(63), OWNER, maker=small))
    assert repo.hotspot(keypair(63).public_key.to_bytes()) is None
    assert repo.remove_maker(small.public_key.to_bytes())
    with pytest.raises(UnknownMaker):
        registry.assert_location(assertion(keypair(63), OWNER, maker=small))
    # its hotspots stay, and their owners may still move them
    assert registry.assert_location(assertion(keypair(61), OWNER, nonce=2, lat=50.0)).nonce == 2


@pytest.mark.parametrize("field,value", [("owner_wallet", b"x" * 31), ("nonce", 0),
                                         ("gain", 301), ("capability", 7)])
def test_malformed_assertions(registry: Registry, field: str, value: object) -> None:
    msg = assertion(HOTSPOT, OWNER)
    setattr(msg, field, value)
    with pytest.raises(RegistryError):
        registry.assert_location(msg)


def test_location_must_be_res_12(registry: Registry) -> None:
    msg = assertion(HOTSPOT, OWNER)
    msg.location = geo.latlng_to_cell(52.0, 5.0, 11)
    with pytest.raises(RegistryError, match="resolution 12"):
        registry.check_assertion(msg)
    msg.location = 12345
    with pytest.raises(RegistryError, match="not an H3 cell"):
        registry.check_assertion(msg)


def test_denylist_signed_versioned(registry: Registry, repo: Repository) -> None:
    a, b = keypair(10).public_key.to_bytes(), keypair(11).public_key.to_bytes()
    assert registry.update_denylist(denylist(OPERATOR, 1, [a], [(a, b)])) == 1
    assert repo.is_denied(a) and repo.is_edge_denied(b, a)
    with pytest.raises(StaleVersion):
        registry.update_denylist(denylist(OPERATOR, 1, []))
    with pytest.raises(UntrustedOperator):
        registry.update_denylist(denylist(keypair(12), 2, []))
    forged = denylist(OPERATOR, 2, [])
    forged.hotspots.append(b)
    with pytest.raises(BadSignature):
        registry.update_denylist(forged)
    with pytest.raises(BadReport):
        registry.update_denylist(denylist(OPERATOR, 2, [b"short"]))
    assert repo.denylist_version() == 1 and repo.is_denied(a)
    why = denylist(OPERATOR, 2, [b], denials=[(a, "gaming", "", 0)])
    with pytest.raises(BadReport, match="does not deny"):
        registry.update_denylist(why)


def test_denials_say_why(registry: Registry, repo: Repository) -> None:
    a = keypair(10).public_key.to_bytes()
    registry.update_denylist(denylist(OPERATOR, 1, [a], denials=[(a, "gaming", "ring", 99)]))
    denial = repo.denial(a)
    assert denial is not None and (denial.reason, denial.evidence) == ("gaming", "ring")
    assert denial.expires_ms == 99 and denial.version == 1 and denial.since_ms == 42


def test_edges_say_why_in_the_signed_update(registry: Registry, repo: Repository) -> None:
    a, b = sorted((keypair(10).public_key.to_bytes(), keypair(11).public_key.to_bytes()))
    msg = denylist(OPERATOR, 1, [], [(a, b)])
    msg.edges[0].reason, msg.edges[0].evidence, msg.edges[0].expires_at_ms = "antenna", "x", 99
    registry.update_denylist(signing.sign(msg, OPERATOR))
    [edge] = repo.edge_denials(b)
    assert (edge.a, edge.b, edge.reason, edge.evidence, edge.expires_ms) == (a, b, "antenna",
                                                                             "x", 99)
    assert edge.version == 1 and edge.since_ms == 42
    assert repo.is_edge_denied(b, a, 98) and not repo.is_edge_denied(b, a, 99)
    tampered = denylist(OPERATOR, 2, [], [(a, b)])
    tampered.edges[0].expires_at_ms = 5
    signing.sign(tampered, OPERATOR)
    tampered.edges[0].expires_at_ms = 0  # the signature covers an edge's expiry
    with pytest.raises(BadSignature):
        registry.update_denylist(tampered)


def test_info(registry: Registry) -> None:
    with pytest.raises(NotFound):
        registry.info(HOTSPOT.public_key.to_bytes())
    registry.assert_location(assertion(HOTSPOT, OWNER))
    assert registry.info(HOTSPOT.public_key.to_bytes()).gain == 30


def test_registry_over_grpc(server, channel: grpc.Channel) -> None:  # type: ignore[no-untyped-def]
    stub = service_pb2_grpc.RegistryServiceStub(channel)
    with pytest.raises(grpc.RpcError) as stranger:
        stub.AssertLocation(assertion(HOTSPOT, OWNER, maker=keypair(50)), timeout=5)
    assert stranger.value.code() == grpc.StatusCode.PERMISSION_DENIED
    info = stub.AssertLocation(assertion(HOTSPOT, OWNER), timeout=5)
    assert info.region == "EU868"
    with pytest.raises(grpc.RpcError) as replay:
        stub.AssertLocation(assertion(HOTSPOT, OWNER), timeout=5)
    assert replay.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    bad = assertion(keypair(4), OWNER)
    bad.owner_signature = b"\x00" * 64
    with pytest.raises(grpc.RpcError) as forged:
        stub.AssertLocation(bad, timeout=5)
    assert forged.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as unknown:
        stub.GetHotspot(registry_pb2.HotspotRequest(hotspot_key=keypair(5).public_key.to_bytes()),
                        timeout=5)
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as untrusted:
        stub.UpdateDenylist(denylist(keypair(6), 1, []), timeout=5)
    assert untrusted.value.code() == grpc.StatusCode.PERMISSION_DENIED
    ack = stub.UpdateDenylist(denylist(server.operator, 1, [HOTSPOT.public_key.to_bytes()]),
                              timeout=5)
    assert ack.version == 1
    shown = stub.GetHotspot(registry_pb2.HotspotRequest(
        hotspot_key=HOTSPOT.public_key.to_bytes()), timeout=5)
    assert shown.denied and shown.nonce == 1
    with pytest.raises(grpc.RpcError) as thief:
        stub.TransferOwnership(transfer(HOTSPOT, THIEF, HOTSPOT, nonce=2), timeout=5)
    assert thief.value.code() == grpc.StatusCode.PERMISSION_DENIED
    moved = stub.TransferOwnership(transfer(HOTSPOT, THIEF, OWNER, nonce=2), timeout=5)
    assert moved.owner_wallet == THIEF.public_key.raw


def test_strangers_cannot_onboard_themselves_in_bulk(server, channel: grpc.Channel) -> None:  # type: ignore[no-untyped-def]
    """Issue 10 item 7: 140 fresh keys used to onboard themselves in 0.71 s (and then took 128
    of the session slots kept for onboarded hotspots). Each signs as its own 'maker' here."""
    stub = service_pb2_grpc.RegistryServiceStub(channel)
    codes = set()
    for seed in range(1000, 1140):
        me = keypair(seed)
        with pytest.raises(grpc.RpcError) as refused:
            stub.AssertLocation(assertion(me, me, maker=me), timeout=5)
        codes.add(refused.value.code())
    assert codes == {grpc.StatusCode.PERMISSION_DENIED}
    assert server.oracle.repo.list_hotspots(limit=1000) == []
