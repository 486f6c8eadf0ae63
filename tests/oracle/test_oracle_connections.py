"""Connections at the server's edge (issue 10 item 6): idle and silent TCP connections are
closed, their total is capped below the file-descriptor limit, and the keepalive agreement
with hotspots holds an idle report stream open instead of ending it with "Too many pings"."""

from __future__ import annotations

import socket
import time

import grpc
import pytest
from oracle_client import RunningServer, StreamClient
from oracle_factories import keypair, witness_report

from pocnet import signing
from pocnet.keepalive import KeepalivePolicy
from pocnet.wire import entropy_pb2, service_pb2_grpc

# The HTTP/2 client preface and an empty SETTINGS frame (RFC 9113 §3.4, §6.5)
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def _closed_within(sock: socket.socket, timeout_s: float) -> bool:
    """Read until the server closes the connection (True) or `timeout_s` passes (False)."""
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            if not sock.recv(4096):
                return True
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True
    return False


def _connect(port: int, preface: bool = True) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    if preface:
        sock.sendall(PREFACE)
    return sock


def _serve(oracle_settings, **connections):  # type: ignore[no-untyped-def]
    settings, operator = oracle_settings
    return RunningServer(settings.with_("connections", **connections), operator)


def _entropy(address: str) -> int:
    with grpc.insecure_channel(address) as channel:
        reply = service_pb2_grpc.EntropyServiceStub(channel).GetEntropy(
            entropy_pb2.EntropyRequest(), timeout=10)
    return len(reply.data)


def test_an_idle_connection_is_closed(oracle_settings) -> None:  # type: ignore[no-untyped-def]
    running = _serve(oracle_settings, idle_s=0.5)
    try:
        idle = _connect(running.port)
        assert _closed_within(idle, 20)  # default before: never
        idle.close()
    finally:
        running.close()


def test_a_connection_that_never_speaks_http2_is_closed(oracle_settings) -> None:  # type: ignore[no-untyped-def]
    running = _serve(oracle_settings, handshake_timeout_s=0.5)
    try:
        silent = _connect(running.port, preface=False)
        assert _closed_within(silent, 20)  # gRPC's default waits 120 s
        silent.close()
    finally:
        running.close()


def test_connections_beyond_the_total_are_refused_and_calls_go_on(oracle_settings) -> None:  # type: ignore[no-untyped-def]
    running = _serve(oracle_settings, max_total=5)
    held: list[socket.socket] = []
    try:
        with grpc.insecure_channel(running.address) as channel:  # a hotspot already connected
            stub = service_pb2_grpc.EntropyServiceStub(channel)
            stub.GetEntropy(entropy_pb2.EntropyRequest(), timeout=10)
            held = [_connect(running.port) for _ in range(10)]
            closed = sum(_closed_within(s, 2) for s in held[4:])
            assert closed >= 5  # over the total: closed at accept, no descriptor kept
            assert len(stub.GetEntropy(entropy_pb2.EntropyRequest(), timeout=10).data) == 32
        for sock in held:
            sock.close()
        deadline = time.monotonic() + 20
        while True:  # the slots come back once the flood is gone
            try:
                assert _entropy(running.address) == 32
                break
            except grpc.RpcError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        for sock in held:
            sock.close()
        running.close()


@pytest.mark.parametrize("signature_processes", [0], indirect=True)
def test_an_idle_stream_survives_the_hotspots_keepalive_pings(oracle_settings) -> None:  # type: ignore[no-untyped-def]
    """The agreement scaled down to 1 s pings: 6 s of silence on an open stream is six pings;
    with gRPC's default server policy the third ended the stream with "Too many pings"."""
    policy = KeepalivePolicy(client_ping_interval_ms=1000, client_ping_timeout_ms=5000)
    settings, operator = oracle_settings
    running = RunningServer(settings, operator, keepalive=policy)
    try:
        with grpc.insecure_channel(running.address,
                                   options=list(policy.client_options())) as channel:
            client = StreamClient(channel, timeout_s=60)
            device, session = keypair(81), keypair(82)
            client.send(session_init=signing.session_init(device, client.nonce, session))
            time.sleep(6)
            report = witness_report(device, signer=session)
            client.send(witness=report)
            assert client.recv().ack.id == signing.report_id(report)
            client.close()
    finally:
        running.close()
