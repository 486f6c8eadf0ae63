"""Signed test messages for the oracle-core tests: reports, assertions, denylists."""

from __future__ import annotations

import os

from pocnet import geo, signing
from pocnet.beacon import derive_beacon
from pocnet.keys import Keypair, Network
from pocnet.regions import get_plan
from pocnet.signing import ASSERTION_SIGNATURES
from pocnet.wire import registry_pb2, reports_pb2

EU868 = get_plan("EU868")
AMSTERDAM = (52.3676, 4.9041)


def keypair(seed: int, network: Network = Network.MAINNET) -> Keypair:
    return Keypair.from_seed(seed.to_bytes(32, "big"), network)


MAKER = keypair(7070)  # the maker `assertion` signs with unless told otherwise


def allow_maker(repo, maker: Keypair = MAKER, quota: int = 1000) -> None:  # type: ignore[no-untyped-def]
    """Put `maker` on the operator's allowlist, as `pocnet-oracle registry maker add` does."""
    repo.put_maker(maker.public_key.to_bytes(), "test maker", quota, 0)


def beacon_report(
    kp: Keypair,
    remote_entropy: bytes,
    entropy_ts: int,
    local_entropy: bytes = b"\x01\x02\x03\x04",
    timestamp_ns: int = 1,
    signer: Keypair | None = None,
    gain_dbi_x10: int = 30,
) -> reports_pb2.BeaconReport:
    beacon = derive_beacon(remote_entropy, entropy_ts, local_entropy, EU868, gain_dbi_x10)
    msg = reports_pb2.BeaconReport(
        pub_key=kp.public_key.to_bytes(),
        local_entropy=local_entropy,
        remote_entropy=remote_entropy,
        data=beacon.data,
        frequency=beacon.frequency_hz,
        datarate=reports_pb2.DataRate.Value(beacon.datarate),
        tx_power=beacon.tx_power_dbm,
        timestamp=timestamp_ns,
    )
    return signing.sign(msg, signer or kp)


def witness_report(
    kp: Keypair,
    data: bytes | None = None,
    signal: int = -1000,
    snr: int = 50,
    frequency: int = 867_100_000,
    timestamp_ns: int = 1,
    signer: Keypair | None = None,
) -> reports_pb2.WitnessReport:
    msg = reports_pb2.WitnessReport(
        pub_key=kp.public_key.to_bytes(),
        data=data if data is not None else os.urandom(51),
        timestamp=timestamp_ns,
        signal=signal,
        snr=snr,
        frequency=frequency,
        datarate=reports_pb2.SF12BW125,
    )
    return signing.sign(msg, signer or kp)


def assertion(
    hotspot: Keypair,
    owner: Keypair,
    lat: float = AMSTERDAM[0],
    lon: float = AMSTERDAM[1],
    nonce: int = 1,
    gain: int = 30,
    capability: int = registry_pb2.FULL,
    maker: Keypair | None = MAKER,
) -> registry_pb2.LocationAssertion:
    """Signed by the hotspot, the owner and (unless None) the maker, in that order."""
    msg = registry_pb2.LocationAssertion(
        hotspot_key=hotspot.public_key.to_bytes(),
        owner_wallet=owner.public_key.raw,
        location=geo.latlng_to_cell(lat, lon, 12),
        gain=gain,
        elevation=5,
        capability=capability,
        nonce=nonce,
        timestamp_ms=1,
        maker_key=maker.public_key.to_bytes() if maker is not None else b"",
    )
    canonical = signing.canonical_bytes(msg, ASSERTION_SIGNATURES)
    msg.hotspot_signature = hotspot.sign(canonical)
    msg.owner_signature = owner.sign(canonical)
    if maker is not None:
        msg.maker_signature = maker.sign(canonical)
    return msg


def transfer(hotspot: Keypair, new_owner: Keypair, signer: Keypair,
             nonce: int) -> registry_pb2.OwnershipTransfer:
    msg = registry_pb2.OwnershipTransfer(
        hotspot_key=hotspot.public_key.to_bytes(), new_owner_wallet=new_owner.public_key.raw,
        nonce=nonce, timestamp_ms=1)
    return signing.sign(msg, signer, field="owner_signature", fields=("owner_signature",))


def denylist(
    operator: Keypair, version: int, hotspots: list[bytes], edges: list[tuple[bytes, bytes]] = (),
    denials: list[tuple[bytes, str, str, int]] = (),
) -> registry_pb2.DenylistUpdate:
    msg = registry_pb2.DenylistUpdate(
        version=version,
        hotspots=hotspots,
        edges=[registry_pb2.DeniedEdge(a=a, b=b) for a, b in edges],
        operator_key=operator.public_key.to_bytes(),
        timestamp_ms=1,
        denials=[registry_pb2.Denial(hotspot_key=k, reason=r, evidence=e, expires_at_ms=x)
                 for k, r, e, x in denials],
    )
    return signing.sign(msg, operator)
