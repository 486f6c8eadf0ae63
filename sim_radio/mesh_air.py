"""`MeshAir`: the `sim_radio.air.Air` medium over the in-process mesh.

SimRadio and the virtual devices (pseudo-terminal modules, the UDP packet forwarder) only know
the Air interface; with MeshAir what they hear, and with what RSSI and SNR, follows from the
mesh's positions, propagation model and receivers, and what they may send follows from their
region's duty cycle and dwell time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from firmware_bridge.errors import TxRejected
from firmware_bridge.types import RxPacket, TxPacket
from pocnet import link
from pocnet.errors import ProtoError
from sim_radio.mesh import Mesh, Transmissions


class MeshAir:
    """`sim_radio.air.Air` over a `Mesh`: SimRadio and the virtual devices transmit into it,
    and each attached node hears what the mesh says it hears, with its RSSI and SNR.

    Delivery happens inside `transmit`, so a frame can only be spoiled by frames already on
    the air when it starts (it cannot retroactively spoil those). A transmission that breaks the
    node's duty cycle or dwell time raises `TxRejected`, as a real radio's driver does.
    """

    def __init__(self, mesh: Mesh, *, enforce_budget: bool = True) -> None:
        self.mesh = mesh
        self.enforce_budget = enforce_budget
        self._deliver: dict[str, Callable[[RxPacket], None]] = {}
        self._on_air: list[tuple[int, int, int, float, int, int, int]] = []
        self._next_event = 1 << 48  # apart from beacon-round event ids
        # Devices may transmit from their own threads; re-entrant because a deliver callback
        # may answer with a transmission of its own.
        self._lock = threading.RLock()

    def attach(self, node_id: str, deliver: Callable[[RxPacket], None]) -> None:
        if node_id not in self.mesh.index_of:
            raise ValueError(f"{node_id!r} is not a hotspot of this mesh")
        self._deliver[node_id] = deliver

    def detach(self, node_id: str) -> None:
        self._deliver.pop(node_id, None)

    def transmit(self, node_id: str, packet: TxPacket, now_ns: int) -> None:
        with self._lock:
            self._transmit(node_id, packet, now_ns)

    def _transmit(self, node_id: str, packet: TxPacket, now_ns: int) -> None:
        mesh = self.mesh
        node = self._node(node_id)
        try:
            sf, bw = link.parse_datarate(packet.datarate)
        except ProtoError as exc:
            raise TxRejected(f"unsupported datarate: {exc}") from None
        plan = mesh.plans[mesh.region_idx[node]]
        if bw != plan.bandwidth_hz:
            raise TxRejected(f"{packet.datarate}: {plan.name} uses {plan.bandwidth_hz} Hz")
        airtime_s = link.time_on_air_s(
            len(packet.payload), sf, bw, preamble=packet.preamble_symbols
        )
        if self.enforce_budget:
            mesh.budget(node).transmit_now(packet.freq_hz, airtime_s, now_ns)
        # Capped at the regulatory maximum the spatial index was sized for.
        power = min(float(packet.power_dbm), float(mesh.max_power_dbm[node]))
        event = self._next_event
        self._next_event += 1
        # Frames still on the air can spoil this one: (node, start, freq, power, sf, air, event).
        self._on_air = [f for f in self._on_air if f[1] + f[5] > now_ns]
        self._on_air.append(
            (node, now_ns, packet.freq_hz, power, sf, round(airtime_s * 1e9), event)
        )
        rows = self._on_air
        sent = Transmissions(
            np.array([r[0] for r in rows], np.int32),
            np.array([r[1] for r in rows], np.int64),
            np.array([r[2] for r in rows], np.int64),
            np.array([r[6] for r in rows], np.int64),
            np.array([r[3] for r in rows]),
            np.array([r[4] for r in rows], np.int8),
            np.array([r[5] for r in rows], np.int64),
        )
        # A frame heard farther than the index was sized for: search every node, not 27 cubes.
        brute = link.sensitivity_dbm(sf, bw) < mesh.indexed_sensitivity_dbm
        everything = mesh._finish(sent, mesh._propagate(sent, brute_force=brute))
        received = everything.select(everything.event == event)
        for i in range(len(received)):
            target = mesh.hotspots[int(received.rx[i])].node_id
            deliver = self._deliver.get(target)
            if deliver is not None:
                deliver(
                    RxPacket(
                        payload=packet.payload,
                        freq_hz=packet.freq_hz,
                        datarate=packet.datarate,
                        rssi_dbm=float(received.rssi_dbm[i]),
                        snr_db=float(received.snr_db[i]),
                        received_ns=int(received.received_ns[i]),
                    )
                )

    def _node(self, node_id: str) -> int:
        try:
            return self.mesh.index_of[node_id]
        except KeyError:
            raise TxRejected(f"{node_id!r} is not a hotspot of this mesh") from None
