"""Our reports decode under Helium's schema and back (docs/protocol.md §2).

Helium's `lora_beacon_report_req_v1` / `lora_witness_report_req_v1` (helium/proto, package
helium.poc_lora) are rebuilt here from the field table of docs/protocol.md §2 with descriptor_pb2,
so the test does not depend on our own .proto files to describe Helium.
"""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message

from pocnet.keys import Keypair
from pocnet.signing import canonical_bytes, sign, verify
from pocnet.wire import reports_pb2

F = descriptor_pb2.FieldDescriptorProto

# helium/proto data_rate enum, in docs/protocol.md §2 order.
DATA_RATE_NAMES = [
    "SF12BW125", "SF11BW125", "SF10BW125", "SF9BW125", "SF8BW125", "SF7BW125",
    "SF12BW250", "SF11BW250", "SF10BW250", "SF9BW250", "SF8BW250", "SF7BW250",
    "SF12BW500", "SF11BW500", "SF10BW500", "SF9BW500", "SF8BW500", "SF7BW500",
    "LRFHSS1BW137", "LRFHSS2BW137", "LRFHSS1BW336", "LRFHSS2BW336", "LRFHSS1BW1523",
    "LRFHSS2BW1523", "FSK50",
]

# (number, name, type) per docs/protocol.md §2.
BEACON_FIELDS = [
    (2, "pub_key", F.TYPE_BYTES),
    (3, "local_entropy", F.TYPE_BYTES),
    (4, "remote_entropy", F.TYPE_BYTES),
    (5, "data", F.TYPE_BYTES),
    (6, "frequency", F.TYPE_UINT64),
    (7, "channel", F.TYPE_INT32),
    (8, "datarate", F.TYPE_ENUM),
    (9, "tx_power", F.TYPE_INT32),
    (10, "timestamp", F.TYPE_UINT64),
    (11, "signature", F.TYPE_BYTES),
    (12, "tmst", F.TYPE_UINT32),
]
WITNESS_FIELDS = [
    (2, "pub_key", F.TYPE_BYTES),
    (3, "data", F.TYPE_BYTES),
    (4, "timestamp", F.TYPE_UINT64),
    (5, "tmst", F.TYPE_UINT32),
    (6, "signal", F.TYPE_SINT32),
    (7, "snr", F.TYPE_INT32),
    (8, "frequency", F.TYPE_UINT64),
    (10, "datarate", F.TYPE_ENUM),
    (11, "signature", F.TYPE_BYTES),
]


def _helium_classes(signal_type: int = F.TYPE_SINT32) -> tuple[type[Message], type[Message]]:
    package = "helium.poc_lora" if signal_type == F.TYPE_SINT32 else "helium.poc_lora_wrong"
    fdp = descriptor_pb2.FileDescriptorProto(
        name=f"{package.replace('.', '/')}.proto", package=package, syntax="proto3"
    )
    enum = fdp.enum_type.add(name="data_rate")
    for number, name in enumerate(DATA_RATE_NAMES):
        enum.value.add(name=name, number=number)
    for msg_name, fields in (
        ("lora_beacon_report_req_v1", BEACON_FIELDS),
        ("lora_witness_report_req_v1", WITNESS_FIELDS),
    ):
        msg = fdp.message_type.add(name=msg_name)
        for number, name, ftype in fields:
            if name == "signal":
                ftype = signal_type
            field = msg.field.add(name=name, number=number, type=ftype, label=F.LABEL_OPTIONAL)
            if ftype == F.TYPE_ENUM:
                field.type_name = f".{package}.data_rate"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    beacon = message_factory.GetMessageClass(
        pool.FindMessageTypeByName(f"{package}.lora_beacon_report_req_v1")
    )
    witness = message_factory.GetMessageClass(
        pool.FindMessageTypeByName(f"{package}.lora_witness_report_req_v1")
    )
    return beacon, witness


HeliumBeacon, HeliumWitness = _helium_classes()
KEY = Keypair.from_seed(bytes(range(32)))


def _fix() -> reports_pb2.GpsFix:
    return reports_pb2.GpsFix(
        lat_e7=-337_000_000, lon_e7=1_512_000_000, height_mm=-12_000, h_acc_mm=1_800,
        fix_type=reports_pb2.FIX_3D, satellites=14, gnss_time_ns=1_764_000_000_500_000_000,
    )


def _beacon(with_fix: bool = True) -> reports_pb2.BeaconReport:
    msg = reports_pb2.BeaconReport(
        pub_key=KEY.public_key.to_bytes(), local_entropy=b"\x0a\x0b\x0c\x0d",
        remote_entropy=bytes(range(100, 132)), data=bytes(range(7, 58)),
        frequency=904_300_000, channel=0, datarate=reports_pb2.SF9BW125, tx_power=27,
        timestamp=1_764_000_000_987_654_321, tmst=4_000_000_000,
    )
    if with_fix:
        msg.gps_fix.CopyFrom(_fix())
    return sign(msg, KEY)


def _witness(with_fix: bool = True) -> reports_pb2.WitnessReport:
    msg = reports_pb2.WitnessReport(
        pub_key=KEY.public_key.to_bytes(), data=bytes(range(7, 58)),
        timestamp=1_764_000_001_000_000_001, tmst=123_456_789, signal=-1234, snr=-87,
        frequency=904_300_000, datarate=reports_pb2.SF9BW125,
    )
    if with_fix:
        msg.gps_fix.CopyFrom(_fix())
    return sign(msg, KEY)


def _shared_values(msg: Message, fields: list[tuple[int, str, int]]) -> dict[str, Any]:
    return {name: getattr(msg, name) for _, name, _ in fields}


CASES = [
    (_beacon, HeliumBeacon, BEACON_FIELDS, reports_pb2.BeaconReport),
    (_witness, HeliumWitness, WITNESS_FIELDS, reports_pb2.WitnessReport),
]


@pytest.mark.parametrize(("make", "helium_cls", "fields", "ours_cls"), CASES)
def test_ours_decodes_under_helium_schema(make, helium_cls, fields, ours_cls) -> None:  # type: ignore[no-untyped-def]
    ours = make(with_fix=True)
    wire = ours.SerializeToString(deterministic=True)
    theirs = helium_cls.FromString(wire)
    values = _shared_values(theirs, fields)
    assert values == _shared_values(ours, fields)
    # Every shared field was set to a non-default value, so equality is not vacuous.
    assert all(values[name] or name == "channel" for name in values)
    if "signal" in values:
        assert values["signal"] == -1234
    # The GPS fix (field 20) is carried as an unknown field, not lost and not misread.
    assert theirs.SerializeToString(deterministic=True) == wire


@pytest.mark.parametrize(("make", "helium_cls", "fields", "ours_cls"), CASES)
def test_helium_report_decodes_under_our_schema(make, helium_cls, fields, ours_cls) -> None:  # type: ignore[no-untyped-def]
    theirs = helium_cls()
    for name, value in _shared_values(make(with_fix=False), fields).items():
        setattr(theirs, name, value)
    wire = theirs.SerializeToString(deterministic=True)
    ours = ours_cls.FromString(wire)
    assert _shared_values(ours, fields) == _shared_values(theirs, fields)
    assert not ours.HasField("gps_fix")
    assert ours.SerializeToString(deterministic=True) == wire


@pytest.mark.parametrize(("make", "helium_cls", "fields", "ours_cls"), CASES)
def test_signature_without_extension_verifies_over_helium_bytes(  # type: ignore[no-untyped-def]
    make, helium_cls, fields, ours_cls
) -> None:
    # A Helium verifier serialises its own message with an empty signature: same bytes as ours.
    ours = make(with_fix=False)
    theirs = helium_cls.FromString(ours.SerializeToString())
    signature = theirs.signature
    theirs.signature = b""
    helium_bytes = theirs.SerializeToString(deterministic=True)
    assert helium_bytes == canonical_bytes(ours)
    KEY.public_key.verify(helium_bytes, signature)
    verify(ours_cls.FromString(helium_cls.FromString(ours.SerializeToString()).SerializeToString()),
           KEY.public_key)


def test_datarate_enum_numbers_match() -> None:
    for number, name in enumerate(DATA_RATE_NAMES):
        assert reports_pb2.DataRate.Value(name) == number


def test_signal_type_matters() -> None:
    # Control: had `signal` been int32, a negative RSSI would not survive Helium's decoder.
    wrong_beacon, wrong_witness = _helium_classes(signal_type=F.TYPE_INT32)
    theirs = wrong_witness.FromString(_witness().SerializeToString())
    assert theirs.signal != -1234
    assert wrong_beacon.FromString(_beacon().SerializeToString()).tx_power == 27
