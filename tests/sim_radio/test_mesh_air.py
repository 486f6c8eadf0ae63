"""MeshAir: SimRadio and the virtual devices on the propagation-driven mesh: delivery to those
in range only, radio-like RSSI/SNR, duty cycle enforced, collisions with frames on the air."""

from __future__ import annotations

import asyncio

import pytest

from firmware_bridge.errors import TxRejected
from firmware_bridge.types import RxPacket, TxPacket
from sim_radio import mesh
from sim_radio.mesh import Hotspot, Mesh
from sim_radio.mesh_air import MeshAir
from sim_radio.propagation import preset
from sim_radio.radio import SimRadio


def test_importable_from_the_mesh_module_too() -> None:
    assert mesh.MeshAir is MeshAir
    with pytest.raises(AttributeError):
        _ = mesh.NoSuchThing


def _air_pair(distance_deg: float = 0.01) -> tuple[MeshAir, list[RxPacket], list[RxPacket]]:
    hs = [
        Hotspot("a", 45.0, 5.0),
        Hotspot("b", 45.0 + distance_deg, 5.0),
        Hotspot("far", 47.0, 9.0),
    ]
    air = MeshAir(Mesh(hs, preset("petajajarvi2015"), seed=1))
    got_b: list[RxPacket] = []
    got_far: list[RxPacket] = []
    air.attach("b", got_b.append)
    air.attach("far", got_far.append)
    return air, got_b, got_far


def _frame(freq: int = 868_100_000, dr: str = "SF12BW125") -> TxPacket:
    return TxPacket(payload=b"\xe0" + bytes(51), freq_hz=freq, datarate=dr, power_dbm=14)


def test_mesh_air_delivers_to_those_in_range_and_enforces_duty_cycle() -> None:
    air, got_b, got_far = _air_pair()
    air.transmit("a", _frame(), 10**18)
    assert len(got_b) == 1 and not got_far
    frame = got_b[0]
    assert frame.payload == _frame().payload and frame.freq_hz == 868_100_000
    assert frame.rssi_dbm == round(frame.rssi_dbm) and frame.snr_db * 4 == round(frame.snr_db * 4)
    assert frame.received_ns > 10**18  # plus the propagation delay
    with pytest.raises(TxRejected, match="duty cycle"):
        air.transmit("a", _frame(868_300_000), 10**18 + 10 * 10**9)
    with pytest.raises(TxRejected, match="not a hotspot"):
        air.transmit("zz", _frame(), 10**18)
    with pytest.raises(ValueError, match="not a hotspot"):
        air.attach("zz", got_b.append)
    with pytest.raises(TxRejected, match="datarate"):
        air.transmit("b", _frame(dr="LRFHSS1BW137"), 10**18)
    air.detach("b")
    air.transmit("a", _frame(867_100_000), 10**18 + 10 * 10**9)  # other sub-band: allowed
    assert len(got_b) == 1


def test_mesh_air_frames_overlapping_on_one_channel_collide() -> None:
    hs = [Hotspot("a", 45.0, 5.0), Hotspot("b", 45.0, 5.02), Hotspot("r", 45.0, 5.01)]
    air = MeshAir(Mesh(hs, preset("free-space"), seed=1))
    got: list[RxPacket] = []
    air.attach("r", got.append)
    air.transmit("a", _frame(), 10**18)
    air.transmit("b", _frame(), 10**18 + 500_000_000)  # same power, same distance: lost
    assert len(got) == 1
    air.transmit("b", _frame(867_300_000), 10**18 + 10**9)  # other channel: both heard
    assert len(got) == 2


def test_sim_radio_runs_over_mesh_air() -> None:
    air, _, _ = _air_pair()
    clock = iter(range(10**18, 10**19, 10**10))

    async def scenario() -> RxPacket:
        tx = SimRadio(air, "a", lambda: next(clock))
        rx = SimRadio(air, "far", lambda: next(clock))
        near = SimRadio(air, "b", lambda: next(clock))
        for radio in (tx, rx, near):
            await radio.start()
        receipt = await tx.transmit(_frame())
        assert receipt.power_dbm == 14
        frames = near.received()
        got = await asyncio.wait_for(frames.__anext__(), 1.0)
        for radio in (tx, rx, near):
            await radio.stop()
        return got

    got = asyncio.run(scenario())
    assert got.datarate == "SF12BW125" and got.rssi_dbm < -60
