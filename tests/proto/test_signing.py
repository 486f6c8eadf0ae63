"""The signing rule (docs/protocol.md §1) over every field of the reports, report ids and
sessions."""

from __future__ import annotations

import hashlib
import os

import pytest
from google.protobuf.message import Message

from pocnet.errors import DecodeError, SignatureError
from pocnet.keys import Keypair, Network
from pocnet.signing import (
    canonical_bytes,
    id_of_canonical,
    report_id,
    session_init,
    sign,
    verify,
    verify_session_init,
)
from pocnet.wire import ingest_pb2, registry_pb2, reports_pb2

DEVICE = Keypair.from_seed(bytes(range(32)), Network.MAINNET)


def _fix() -> reports_pb2.GpsFix:
    return reports_pb2.GpsFix(
        lat_e7=515_000_000, lon_e7=-1_234_567, height_mm=42_000, h_acc_mm=2_500,
        fix_type=reports_pb2.FIX_3D, satellites=11, gnss_time_ns=1_764_000_000_000_000_000,
    )


def beacon_report() -> reports_pb2.BeaconReport:
    return reports_pb2.BeaconReport(
        pub_key=DEVICE.public_key.to_bytes(), local_entropy=b"\x01\x02\x03\x04",
        remote_entropy=bytes(range(32)), data=bytes(range(51)), frequency=867_100_000,
        channel=0, datarate=reports_pb2.SF12BW125, tx_power=16,
        timestamp=1_764_000_000_123_456_789, tmst=123_456, gps_fix=_fix(),
    )


def witness_report() -> reports_pb2.WitnessReport:
    return reports_pb2.WitnessReport(
        pub_key=DEVICE.public_key.to_bytes(), data=bytes(range(51)),
        timestamp=1_764_000_000_223_456_789, tmst=654_321, signal=-1175, snr=-55,
        frequency=867_100_000, datarate=reports_pb2.SF12BW125, gps_fix=_fix(),
    )


def _altered(value: object) -> object:
    """A different value of the same type (bytes: one bit flipped; numbers: +1)."""
    if isinstance(value, bytes):
        return bytes([value[0] ^ 0x01]) + value[1:] if value else b"\x00"
    if isinstance(value, bool):
        return not value
    return value + 1  # type: ignore[operator]


def _alterations(msg: Message) -> list[tuple[str, Message]]:
    """One copy of `msg` per field (and per GPS-fix sub-field) with just that field changed."""
    out: list[tuple[str, Message]] = []
    for field in msg.DESCRIPTOR.fields:
        if field.name == "signature":
            continue
        if field.message_type is not None:
            for sub in field.message_type.fields:
                copy = type(msg)()
                copy.CopyFrom(msg)
                inner = getattr(copy, field.name)
                setattr(inner, sub.name, _altered(getattr(inner, sub.name)))
                out.append((f"{field.name}.{sub.name}", copy))
            copy = type(msg)()
            copy.CopyFrom(msg)
            copy.ClearField(field.name)
            out.append((f"{field.name} removed", copy))
            continue
        copy = type(msg)()
        copy.CopyFrom(msg)
        setattr(copy, field.name, _altered(getattr(copy, field.name)))
        out.append((field.name, copy))
    return out


@pytest.mark.parametrize("make", [beacon_report, witness_report])
def test_sign_then_verify(make) -> None:  # type: ignore[no-untyped-def]
    msg = sign(make(), DEVICE)
    assert len(msg.signature) == 64
    verify(msg, DEVICE.public_key)


@pytest.mark.parametrize("make", [beacon_report, witness_report])
def test_every_field_is_covered(make) -> None:  # type: ignore[no-untyped-def]
    signed = sign(make(), DEVICE)
    alterations = _alterations(signed)
    names = {name for name, _ in alterations}
    # Every field but the signature, every GPS fix sub-field, and dropping the fix.
    assert len(names) == len(signed.DESCRIPTOR.fields) - 1 + 7
    for name, altered in alterations:
        assert altered.signature == signed.signature
        with pytest.raises(SignatureError):
            verify(altered, DEVICE.public_key)
            pytest.fail(f"altering {name} kept the signature valid")


def test_signature_is_over_bytes_with_empty_signature() -> None:
    msg = beacon_report()
    unsigned = msg.SerializeToString(deterministic=True)
    sign(msg, DEVICE)
    assert canonical_bytes(msg) == unsigned
    assert msg.signature  # canonical_bytes did not clear the message itself
    DEVICE.public_key.verify(unsigned, msg.signature)


def test_wrong_key_and_missing_or_corrupt_signature() -> None:
    msg = sign(beacon_report(), DEVICE)
    with pytest.raises(SignatureError):
        verify(msg, Keypair.generate().public_key)
    corrupt = beacon_report()
    corrupt.signature = bytes([msg.signature[0] ^ 0x80]) + msg.signature[1:]
    with pytest.raises(SignatureError):
        verify(corrupt, DEVICE.public_key)
    with pytest.raises(SignatureError, match="not signed"):
        verify(beacon_report(), DEVICE.public_key)
    short = beacon_report()
    short.signature = msg.signature[:63]
    with pytest.raises(SignatureError):
        verify(short, DEVICE.public_key)


def test_two_signature_fields_blank_both() -> None:
    owner = Keypair.generate()
    msg = registry_pb2.LocationAssertion(
        hotspot_key=DEVICE.public_key.to_bytes(), owner_wallet=owner.public_key.raw,
        location=0x8C1F_0000_0000_0FFF, gain=12, elevation=5, nonce=1,
    )
    both = ("hotspot_signature", "owner_signature")
    sign(msg, DEVICE, field="hotspot_signature", fields=both)
    sign(msg, owner, field="owner_signature", fields=both)
    verify(msg, DEVICE.public_key, field="hotspot_signature", fields=both)
    verify(msg, owner.public_key, field="owner_signature", fields=both)
    # Signing over only one field blanked would cover the other signature: they differ.
    with pytest.raises(SignatureError):
        verify(msg, DEVICE.public_key, field="hotspot_signature")


def test_report_id_ignores_signer() -> None:
    session = Keypair.generate()
    a = sign(beacon_report(), DEVICE)
    b = sign(beacon_report(), session)
    assert a.signature != b.signature
    assert report_id(a) == report_id(b) == hashlib.sha256(canonical_bytes(a)).digest()
    assert id_of_canonical(canonical_bytes(b)) == hashlib.sha256(canonical_bytes(a)).digest()
    assert len(report_id(a)) == 32
    other = beacon_report()
    other.tmst += 1
    assert report_id(other) != report_id(a)


def test_serialisation_is_deterministic_regardless_of_set_order() -> None:
    a = reports_pb2.WitnessReport(snr=3, signal=-900, pub_key=b"k")
    b = reports_pb2.WitnessReport(pub_key=b"k", signal=-900, snr=3)
    assert canonical_bytes(a) == canonical_bytes(b)


def test_session_init_round_trip() -> None:
    nonce = os.urandom(32)
    session = Keypair.generate()
    init = session_init(DEVICE, nonce, session)
    assert isinstance(init, ingest_pb2.SessionInit)
    device_key, session_key = verify_session_init(init, nonce)
    assert device_key == DEVICE.public_key
    assert session_key == session.public_key


def test_session_init_refuses_other_nonce_and_tampering() -> None:
    nonce = os.urandom(32)
    init = session_init(DEVICE, nonce, Keypair.generate())
    with pytest.raises(SignatureError, match="nonce"):
        verify_session_init(init, os.urandom(32))
    # A swapped session key (a man in the middle substituting his own) breaks the signature.
    swapped = ingest_pb2.SessionInit()
    swapped.CopyFrom(init)
    swapped.session_key = Keypair.generate().public_key.to_bytes()
    with pytest.raises(SignatureError):
        verify_session_init(swapped, nonce)
    # Signed by the session key instead of the device key.
    forged = ingest_pb2.SessionInit()
    forged.CopyFrom(init)
    sign(forged, Keypair.generate())
    with pytest.raises(SignatureError):
        verify_session_init(forged, nonce)
    bad_key = ingest_pb2.SessionInit()
    bad_key.CopyFrom(init)
    bad_key.pub_key = b"\x05" + bad_key.pub_key[1:]
    with pytest.raises(DecodeError):
        verify_session_init(bad_key, nonce)


def test_session_nonce_must_be_32_bytes() -> None:
    with pytest.raises(DecodeError):
        session_init(DEVICE, b"short", Keypair.generate())


def test_signed_field_is_always_blanked() -> None:
    # Even when `fields` forgets it, the field being signed is not covered by its own signature.
    owner = Keypair.generate()
    msg = registry_pb2.LocationAssertion(hotspot_key=DEVICE.public_key.to_bytes(), nonce=3)
    msg.owner_signature = b"stale"
    sign(msg, owner, field="owner_signature", fields=("hotspot_signature",))
    verify(msg, owner.public_key, field="owner_signature",
           fields=("hotspot_signature", "owner_signature"))


def test_session_key_must_be_fresh_not_the_device_key() -> None:
    # docs/protocol.md §1: the client answers with "a fresh Ed25519 session key". Reusing the device
    # key as the session key would make every stream report a device-key signature that is
    # valid forever, which is what the session exists to avoid.
    nonce = os.urandom(32)
    init = ingest_pb2.SessionInit(
        pub_key=DEVICE.public_key.to_bytes(),
        nonce=nonce,
        session_key=DEVICE.public_key.to_bytes(),
    )
    sign(init, DEVICE)
    with pytest.raises(SignatureError, match="fresh"):
        verify_session_init(init, nonce)
