"""Registry: assertions signed by hotspot AND owner wallet, H3 res-12, region from the cell,
nonces strictly increasing; the operator's signed, versioned denylist. Domain and gRPC."""

from __future__ import annotations

import grpc
import pytest
from oracle_factories import assertion, denylist, keypair

from oracle.errors import (
    BadReport,
    BadSignature,
    NotFound,
    RegistryError,
    StaleNonce,
    StaleVersion,
    UntrustedOperator,
)
from oracle.registry import Registry
from oracle.storage.repository import Repository
from pocnet import geo
from pocnet.keys import Network, PublicKey
from pocnet.wire import registry_pb2, service_pb2_grpc

HOTSPOT, OWNER, OPERATOR = keypair(1), keypair(2), keypair(3)


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
    return Registry(repo, _key, lambda: 42, [OPERATOR.public_key.to_bytes()], lambda: _Locator())


def test_onboard_derives_region_and_stores(registry: Registry, repo: Repository) -> None:
    info = registry.assert_location(assertion(HOTSPOT, OWNER))
    assert info.region == "EU868" and info.nonce == 1 and not info.denied
    reg = repo.hotspot(HOTSPOT.public_key.to_bytes())
    assert reg is not None and reg.owner_wallet == OWNER.public_key.raw
    assert reg.location is not None and geo.resolution(geo.Cell(reg.location)) == 12
    assert reg.capability == "full" and reg.gain_dbi_x10 == 30 and reg.asserted_at_ms == 42


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


def test_info(registry: Registry) -> None:
    with pytest.raises(NotFound):
        registry.info(HOTSPOT.public_key.to_bytes())
    registry.assert_location(assertion(HOTSPOT, OWNER))
    assert registry.info(HOTSPOT.public_key.to_bytes()).gain == 30


def test_registry_over_grpc(server, channel: grpc.Channel) -> None:  # type: ignore[no-untyped-def]
    stub = service_pb2_grpc.RegistryServiceStub(channel)
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
