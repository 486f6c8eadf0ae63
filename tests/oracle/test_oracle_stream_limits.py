"""Report-stream admission over real gRPC on loopback: nobody can hold every slot of the server.

A flood of streams that never send their session init is capped per peer address while
another address is served; a device key's newer session replaces its oldest; idle sessions are
ended; unary calls keep a reserve of `maximum_concurrent_rpcs` during a stream flood; keys
with no registration share a capped number of sessions, and an onboarded hotspot still gets
one when they are all taken. Every
refusal or ending is an explicit status with a reason. docs/protocol.md §1 is unchanged: offer, init
within the timeout, reports signed by the session key.
"""

from __future__ import annotations

import grpc
import pytest
from oracle_client import RunningServer, StreamClient
from oracle_factories import assertion, keypair, witness_report
from test_oracle_stream_guard import FakeClock

from pocnet import signing
from pocnet.wire import STREAM_RETRY_AFTER_KEY, entropy_pb2, service_pb2_grpc

# The guard does not depend on where signatures are checked: inline keeps these fast.
pytestmark = pytest.mark.parametrize("signature_processes", [0], indirect=True, ids=["inline"])


def _open(channel: grpc.Channel, device_seed: int = 1, session_seed: int = 101):  # type: ignore[no-untyped-def]
    client = StreamClient(channel)
    device, session = keypair(device_seed), keypair(session_seed)
    client.send(session_init=signing.session_init(device, client.nonce, session))
    return client, device, session


def _acked(client: StreamClient, device, session, timestamp_ns: int = 1) -> None:  # type: ignore[no-untyped-def]
    report = witness_report(device, timestamp_ns=timestamp_ns, signer=session)
    client.send(witness=report)
    assert client.recv().ack.id == signing.report_id(report)


def _refused(channel: grpc.Channel) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        StreamClient(channel)  # reads the offer: refused streams get a status instead
    return info.value


def _closed_with(client: StreamClient) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        client.recv()
    client.close()
    return info.value


def _on_server(running: RunningServer, fn):  # type: ignore[no-untyped-def]
    """Run `fn()` in the server's event loop (the guard is single-threaded)."""
    async def call():  # type: ignore[no-untyped-def]
        return fn()

    return running.call(call())


def test_uninitialised_flood_is_capped_per_peer_and_others_get_through(
    oracle_settings,  # type: ignore[no-untyped-def]
) -> None:
    settings, operator = oracle_settings
    settings = settings.with_("server", session_init_timeout_s=5.0)
    settings = settings.with_("streams", per_peer_pending=4)
    running = RunningServer(settings, operator, extra_address="[::1]:0")
    try:
        with grpc.insecure_channel(running.address) as v4, \
                grpc.insecure_channel(f"[::1]:{running.extra_port}") as v6:
            flood = [StreamClient(v4) for _ in range(4)]  # each holds its offer, sends nothing
            for _ in range(6):
                error = _refused(v4)
                assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                assert "too many streams from 127.0.0.1 awaiting session init" in error.details()
            assert _on_server(running, running.oracle.streams.counts)["pending"] == 4
            # Another address (here ::1) opens a stream, inits and gets its report stored.
            client, device, session = _open(v6)
            _acked(client, device, session)
            client.close()
            # A flooder's stream that ends gives its address one place back, no more.
            flood[0].close()
            with pytest.raises(StopIteration):
                flood[0].recv()
            flood[0] = StreamClient(v4)
            assert _refused(v4).code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            for held in flood:
                held.close()
        assert running.oracle.repo.count_reports() == 1
    finally:
        running.close()


def test_same_key_reconnecting_replaces_its_oldest_stream(server, channel) -> None:  # type: ignore[no-untyped-def]
    first, device, session1 = _open(channel, session_seed=101)
    _acked(first, device, session1, 1)
    second, _, session2 = _open(channel, session_seed=102)
    _acked(second, device, session2, 2)
    third, _, session3 = _open(channel, session_seed=103)  # per_key = 2: the first goes
    _acked(third, device, session3, 3)
    error = _closed_with(first)
    assert error.code() == grpc.StatusCode.ABORTED
    assert "replaced by a newer session of the same device key" in error.details()
    _acked(second, device, session2, 4)  # the two newest keep working
    _acked(third, device, session3, 5)
    other, other_device, other_session = _open(channel, device_seed=2, session_seed=201)
    _acked(other, other_device, other_session, 6)  # another key is not affected
    _acked(second, device, session2, 7)
    for client in (second, third, other):
        client.close()
    assert server.oracle.repo.count_reports() == 7


def test_reconnect_is_not_locked_out_by_its_own_dead_stream(oracle_settings) -> None:  # type: ignore[no-untyped-def]
    # One hotspot behind an address at its session cap: its dead stream makes room for it,
    # while a new key from the same address is refused.
    settings, operator = oracle_settings
    settings = settings.with_("streams", per_peer=1, per_key=1)
    running = RunningServer(settings, operator)
    try:
        with grpc.insecure_channel(running.address) as channel:
            dead, device, old_session = _open(channel, session_seed=101)
            _acked(dead, device, old_session, 1)  # then the hotspot's network blips
            stranger, _, _ = _open(channel, device_seed=2, session_seed=201)
            error = _closed_with(stranger)
            assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "too many streams from 127.0.0.1 (at most 1 sessions)" in error.details()
            fresh, _, new_session = _open(channel, session_seed=102)
            _acked(fresh, device, new_session, 2)
            assert _closed_with(dead).code() == grpc.StatusCode.ABORTED
            _acked(fresh, device, new_session, 3)
            fresh.close()
    finally:
        running.close()


def test_idle_session_is_ended_injected_clock(oracle_settings) -> None:  # type: ignore[no-untyped-def]
    settings, operator = oracle_settings
    clock = FakeClock()
    running = RunningServer(settings, operator, monotonic_s=clock)  # idle_s = 600 (default)
    sweep = running.oracle.streams.sweep
    try:
        with grpc.insecure_channel(running.address) as channel:
            client, device, session = _open(channel)
            _acked(client, device, session, 1)
            clock.now_s += 599.0
            assert _on_server(running, sweep) == 0
            _acked(client, device, session, 2)  # a report restarts the idle time
            clock.now_s += 599.0
            assert _on_server(running, sweep) == 0
            _acked(client, device, session, 3)
            clock.now_s += 600.0
            assert _on_server(running, sweep) == 1
            error = _closed_with(client)
            assert error.code() == grpc.StatusCode.UNAVAILABLE
            assert "no report for 600 s" in error.details()
            assert _on_server(running, running.oracle.streams.counts) == {
                "open": 0, "pending": 0, "sessions": 0, "not_onboarded": 0}
        assert running.oracle.repo.count_reports() == 3
    finally:
        running.close()


def test_idle_session_is_ended_by_the_running_sweeper(oracle_settings) -> None:  # type: ignore[no-untyped-def]
    settings, operator = oracle_settings
    running = RunningServer(settings.with_("streams", idle_s=0.3), operator)  # real time
    try:
        with grpc.insecure_channel(running.address) as channel:
            client, device, session = _open(channel)
            _acked(client, device, session)
            error = _closed_with(client)  # within the StreamClient's 10 s deadline
            assert error.code() == grpc.StatusCode.UNAVAILABLE, error.details()
            assert "no report for 0.3 s" in error.details()
    finally:
        running.close()


def test_unary_calls_are_served_during_a_stream_flood(oracle_settings) -> None:  # type: ignore[no-untyped-def]
    settings, operator = oracle_settings
    settings = settings.with_("connections", max_streams_per_connection=0)  # 12 on one
    settings = settings.with_("server", max_concurrent_rpcs=10, session_init_timeout_s=5.0)
    settings = settings.with_("streams", unary_reserve_share=0.3, per_peer_pending=100)
    running = RunningServer(settings, operator)
    try:
        with grpc.insecure_channel(running.address) as channel:
            held, refused = [], []
            for _ in range(12):
                try:
                    held.append(StreamClient(channel))
                except grpc.RpcError as exc:
                    refused.append(exc)
            assert len(held) == 7 and len(refused) == 5  # 10 slots − 3 kept for unary calls
            for error in refused:
                assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                assert "all 7 report-stream slots are busy" in error.details()
            entropy = service_pb2_grpc.EntropyServiceStub(channel).GetEntropy(
                entropy_pb2.EntropyRequest(), timeout=5)
            assert len(entropy.data) == 32
            report = witness_report(keypair(1))
            ack = service_pb2_grpc.IngestServiceStub(channel).SubmitWitness(report, timeout=5)
            assert ack.id == signing.report_id(report)
            for client in held:
                client.close()
    finally:
        running.close()


def test_keys_not_onboarded_cannot_take_the_onboarded_hotspots_slots(oracle_settings) -> None:  # type: ignore[no-untyped-def]
    """Device keys are free: a flood of fresh keys gets 2 of the 10 stream slots, an onboarded
    hotspot still gets a session, and a stranger's reports still go in by unary call."""
    settings, operator = oracle_settings
    settings = settings.with_("server", max_concurrent_rpcs=10)
    settings = settings.with_("streams", unary_reserve_share=0, not_onboarded_share=0.2)
    running = RunningServer(settings, operator)
    try:
        with grpc.insecure_channel(running.address) as channel:
            strangers = [_open(channel, device_seed=10 + i, session_seed=110 + i)
                         for i in range(2)]
            for client, device, session in strangers:
                _acked(client, device, session)
            client, _, _ = _open(channel, device_seed=12, session_seed=112)
            error = _closed_with(client)  # refused at its session init
            assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "all 2 report-stream slots for hotspots not onboarded" in error.details()
            # ... and tells the client how long to keep to unary calls
            assert (STREAM_RETRY_AFTER_KEY, "300") in tuple(error.trailing_metadata())
            hotspot = keypair(20)
            service_pb2_grpc.RegistryServiceStub(channel).AssertLocation(
                assertion(hotspot, keypair(21)), timeout=5)
            onboarded = _open(channel, device_seed=20, session_seed=120)
            _acked(*onboarded)
            report = witness_report(keypair(12), timestamp_ns=7)
            ack = service_pb2_grpc.IngestServiceStub(channel).SubmitWitness(report, timeout=5)
            assert ack.id == signing.report_id(report)
            assert _on_server(running, running.oracle.streams.counts) == {
                "open": 3, "pending": 0, "sessions": 3, "not_onboarded": 2}
            for client, _, _ in [*strangers, onboarded]:
                client.close()
        assert running.oracle.repo.count_reports() == 4
    finally:
        running.close()
