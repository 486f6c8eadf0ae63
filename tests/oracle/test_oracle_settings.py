"""Oracle settings: TOML + POCNET_ORACLE_ environment, validated, one line per mistake."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from oracle.errors import SettingsError
from oracle.settings import Settings, hotspot_address, load


def test_defaults_are_the_protocol_values(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("oracle.settings.DEFAULT_PATH", tmp_path / "absent.toml")
    s = load(env={})
    assert s == Settings()
    assert s.server.max_receive_bytes == 16 * 1024
    assert s.server.session_init_timeout_s == 5 and s.server.session_max_s == 1800
    assert s.verifier.stale_after_s == 45 * 60 and s.entropy.interval_s == 60


def test_file_then_environment(tmp_path: Path) -> None:
    path = tmp_path / "oracle.toml"
    path.write_text('[oracle]\nlisten = "0.0.0.0:9000"\n[server]\nmax_concurrent_rpcs = 50\n')
    s = load(path, env={"POCNET_ORACLE_SERVER_MAX_CONCURRENT_RPCS": "70",
                        "POCNET_ORACLE_RATE_LIMIT_PER_KEY_BURST": "9.5",
                        "POCNET_ORACLE_CONNECTIONS_MAX_STREAMS_PER_CONNECTION": "3"})
    assert s.oracle.listen == "0.0.0.0:9000"
    assert s.server.max_concurrent_rpcs == 70 and s.rate_limit.per_key_burst == 9.5


def test_every_mistake_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "oracle.toml"
    path.write_text('[oracle]\nnetwork = "moon"\nlisten = "nowhere"\nbogus = 1\n'
                    '[server]\nmax_receive_bytes = "big"\ntls_cert = "/nope.pem"\n')
    with pytest.raises(SettingsError) as info:
        load(path, env={"POCNET_ORACLE_VERIFIER_BATCH": "0", "POCNET_ORACLE_TYPO": "1"})
    lines = str(info.value).splitlines()
    assert any(line.startswith("oracle.network:") for line in lines)
    assert any(line.startswith("oracle.listen:") for line in lines)
    assert any(line.startswith("oracle.bogus: unknown setting") for line in lines)
    assert any(line.startswith("server.max_receive_bytes: must be an integer") for line in lines)
    assert any("set both or neither" in line for line in lines)
    assert any(line.startswith("verifier.batch: must be > 0") for line in lines)
    assert any(line.startswith("POCNET_ORACLE_TYPO: unknown environment variable")
               for line in lines)


def test_unknown_section_is_an_error(tmp_path: Path) -> None:
    """A typo'd section name must not leave its settings (TLS, say) silently at the defaults."""
    path = tmp_path / "oracle.toml"
    path.write_text('[sever]\ntls_cert = "/etc/pocnet/cert.pem"\n')
    with pytest.raises(SettingsError) as info:
        load(path, env={})
    (line,) = str(info.value).splitlines()
    assert line.startswith("[sever]: unknown section (known: oracle, server,")


def test_missing_default_file_means_defaults_but_a_named_one_must_exist(tmp_path: Path,
                                                                       monkeypatch) -> None:
    monkeypatch.setattr("oracle.settings.DEFAULT_PATH", tmp_path / "absent.toml")
    assert load(env={}) == Settings()
    present = tmp_path / "oracle.toml"
    present.write_text('[oracle]\nlisten = "127.0.0.1:7081"\n')
    monkeypatch.setattr("oracle.settings.DEFAULT_PATH", present)
    assert load(env={}).oracle.listen == "127.0.0.1:7081"


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[oracle\n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load(bad, env={})
    with pytest.raises(SettingsError, match="no such settings file"):
        load(tmp_path / "missing.toml", env={})


def test_operator_keys_must_be_addresses() -> None:
    with pytest.raises(SettingsError, match=r"registry\.operator_keys"):
        load(env={"POCNET_ORACLE_REGISTRY_OPERATOR_KEYS": "not-an-address"})


def test_docs_settings_block_matches_settings(tmp_path: Path) -> None:
    """docs/oracle.md shows every setting; `load` refuses unknown ones, so typos there fail."""
    import dataclasses
    import re

    doc = (Path(__file__).resolve().parents[2] / "docs" / "oracle.md").read_text()
    block = re.search(r"## Settings.*?```toml\n(.*?)```", doc, re.S)
    assert block is not None
    path = tmp_path / "oracle.toml"
    path.write_text(block.group(1))
    load(path, env={})  # raises on unknown or mistyped settings (TLS files are empty there)
    for section in dataclasses.fields(Settings):
        for field in dataclasses.fields(section.default_factory()):  # type: ignore[misc]
            assert re.search(rf"^{field.name} = ", block.group(1), re.M), field.name


@pytest.mark.parametrize(("epoch_s", "ok"), [(86_400, True), (3_600, True), (1, True),
                                             (86_401, False), (7_000, False), (0, False)])
def test_network_epoch_s_must_divide_a_day(epoch_s: int, ok: bool) -> None:
    """Epochs start at 00:00 UTC on every network, so their length divides 86 400 s."""
    env = {"POCNET_ORACLE_NETWORK_EPOCH_S": str(epoch_s)}
    if ok:
        assert load(env=env).network.epoch_s == epoch_s
    else:
        with pytest.raises(SettingsError, match=r"network\.epoch_s"):
            load(env=env)


@pytest.mark.parametrize(("value", "expected"), [("auto", "auto"), ("0", 0), ("1", 1),
                                                 ("2", 2), ("-1", None), ("many", None)])
def test_signature_processes_is_auto_or_a_count(value: str, expected: object) -> None:
    """Issue 15: checks spread over a pool sized to the cores ("auto"), N, or 0 = inline."""
    env = {"POCNET_ORACLE_INGEST_SIGNATURE_PROCESSES": value}
    if expected is None:
        with pytest.raises(SettingsError, match=r"ingest\.signature_processes"):
            load(env=env)
    else:
        assert load(env=env).ingest.signature_processes == expected


def test_signature_processes_in_the_file_is_a_number_or_auto(tmp_path: Path) -> None:
    from oracle.signature_pool import resolve_processes

    path = tmp_path / "oracle.toml"
    path.write_text("[ingest]\nsignature_processes = 3\n")
    assert load(path, env={}).ingest.signature_processes == 3
    path.write_text('[ingest]\nsignature_processes = "auto"\n')
    assert load(path, env={}).ingest.signature_processes == "auto"
    assert Settings().ingest.signature_processes == "auto"
    assert resolve_processes("auto", 8) == 8
    assert resolve_processes("auto", None) == 1  # os.cpu_count() may not know
    assert resolve_processes(0, 8) == 0
    path.write_text("[ingest]\nsignature_processes = true\n")
    with pytest.raises(SettingsError, match=r"ingest\.signature_processes: must be an integer "
                                            r"or a string"):
        load(path, env={})


@pytest.mark.parametrize(("value", "ok"), [("0", True), ("1.5", True), ("9.99", True),
                                           ("10", False), ("-0.1", False)])
def test_refusal_delay_is_below_the_rpc_timeout(value: str, ok: bool) -> None:
    """A held refusal must reach a client that waits as long as the server's own unary bound
    (server.rpc_timeout_s, 10 s) as the refusal, not as a deadline; 0 answers at once."""
    env = {"POCNET_ORACLE_NOT_ONBOARDED_REFUSAL_DELAY_S": value}
    if ok:
        assert load(env=env).not_onboarded.refusal_delay_s == float(value)
    else:
        with pytest.raises(SettingsError, match=r"not_onboarded\.refusal_delay_s"):
            load(env=env)


@pytest.mark.parametrize(("value", "ok"), [("0", True), ("0.5", True), ("1", True),
                                           ("1.01", False), ("-0.01", False)])
def test_refusal_delay_spread_is_a_share_from_0_to_1(value: str, ok: bool) -> None:
    """Held delays are drawn from refusal_delay_s × [1 − spread, 1]: a share above 1 would draw
    negative delays, below 0 delays past refusal_delay_s (and past the call deadline)."""
    env = {"POCNET_ORACLE_NOT_ONBOARDED_REFUSAL_DELAY_SPREAD": value}
    if ok:
        assert load(env=env).not_onboarded.refusal_delay_spread == float(value)
    else:
        with pytest.raises(SettingsError, match=r"not_onboarded\.refusal_delay_spread: must be "
                                                r"0 to 1"):
            load(env=env)


@pytest.mark.parametrize(("rpcs", "held", "expected"), [
    (1000, 50, 50),  # the defaults: 100 slots are left to unary calls, half may be held
    (1000, 51, 50),  # one more than half: held to half
    (1000, 0, 0),    # hold none
    (70, 50, 3),     # 7 slots left to unary calls: 3 (half, rounded down)
])
def test_held_refusals_take_at_most_half_the_unary_slots(rpcs: int, held: int,
                                                         expected: int) -> None:
    """Each held refusal holds a call slot; whatever streams hold, half of the slots they leave
    to unary calls stay free for onboarded hotspots."""
    from oracle.settings import held_refusals

    s = load(env={"POCNET_ORACLE_SERVER_MAX_CONCURRENT_RPCS": str(rpcs),
                  "POCNET_ORACLE_NOT_ONBOARDED_MAX_HELD_REFUSALS": str(held),
                  "POCNET_ORACLE_NOT_ONBOARDED_PER_PEER_HELD": "0",
                  "POCNET_ORACLE_CONNECTIONS_MAX_STREAMS_PER_CONNECTION": str(expected)})
    assert held_refusals(s) == expected


@pytest.mark.parametrize(("rpcs", "held", "streams", "holds"), [
    (1000, 50, 50, None),  # one connection's calls: as many as the tarpit holds
    (1000, 50, 51, 50),    # one more: refused, naming what the tarpit holds
    (1000, 16, 16, None),
    (1000, 16, 17, 16),
    (70, 50, 3, None),     # the tarpit holds 3 (half of the 7 unary slots)
    (70, 50, 4, 3),
    (1000, 0, 51, None),   # no tarpit: nothing to fit under
    (1000, 50, 0, None),   # no limit, as the operator chose
])
def test_one_connection_holds_at_most_the_refusals_the_tarpit_holds(
        rpcs: int, held: int, streams: int, holds: int | None) -> None:
    """A flooder on one connection has all its refusals held (none answered at once, none
    sent again at once) only if the connection may not carry more calls than the tarpit
    holds: `max_streams_per_connection` <= `held_refusals`."""
    env = {"POCNET_ORACLE_SERVER_MAX_CONCURRENT_RPCS": str(rpcs),
           "POCNET_ORACLE_NOT_ONBOARDED_MAX_HELD_REFUSALS": str(held),
           "POCNET_ORACLE_NOT_ONBOARDED_PER_PEER_HELD": "0",  # no share: the held cap alone
           "POCNET_ORACLE_CONNECTIONS_MAX_STREAMS_PER_CONNECTION": str(streams)}
    if holds is None:
        assert load(env=env).connections.max_streams_per_connection == streams
    else:
        with pytest.raises(SettingsError, match=rf"^connections\.max_streams_per_connection: "
                                                rf"must be <= the refusals the tarpit holds "
                                                rf"\({holds}: .* got {streams}$"):
            load(env=env)


@pytest.mark.parametrize(("section", "name"), [("not_onboarded", "max_held_refusals"),
                                              ("connections", "max_streams_per_connection")])
def test_held_refusals_and_streams_per_connection_are_0_or_more(section: str, name: str) -> None:
    """0 means none held / gRPC's own stream limit; a negative count is a mistake."""
    env = f"POCNET_ORACLE_{section.upper()}_{name.upper()}"
    assert getattr(getattr(load(env={env: "0"}), section), name) == 0
    with pytest.raises(SettingsError, match=rf"{section}\.{name}: must be >= 0, got -1"):
        load(env={env: "-1"})


@pytest.mark.parametrize(("per_peer", "streams", "error"), [
    (16, 16, None),  # one connection's refusals: exactly the address's share
    (15, 16, "per_peer_held: must be >= connections.max_streams_per_connection (16)"),
    (0, 16, None),   # no share
    (32, 0, None),   # no limit per connection: nothing to fit
])
def test_an_addresss_share_holds_at_least_one_connections_calls(
        per_peer: int, streams: int, error: str | None) -> None:
    """Refusals past an address's share wait the excess delay; a hotspot's or a stranger's one
    connection must never be there: `per_peer_held` >= `max_streams_per_connection`."""
    env = {"POCNET_ORACLE_NOT_ONBOARDED_PER_PEER_HELD": str(per_peer),
           "POCNET_ORACLE_CONNECTIONS_MAX_STREAMS_PER_CONNECTION": str(streams)}
    if error is None:
        assert load(env=env).not_onboarded.per_peer_held == per_peer
    else:
        with pytest.raises(SettingsError, match=re.escape(error)):
            load(env=env)


@pytest.mark.parametrize(("delay", "excess_delay", "excess", "error"), [
    ("1", "1", "1024", None),  # as long as the short delay: the boundary
    ("1", "0.99", "1024", "excess_delay_s: must be >= not_onboarded.refusal_delay_s (1)"),
    ("1", "0.5", "0", None),   # no excess tier: its delay unused
    ("1", "-1", "0", "excess_delay_s: must be >= not_onboarded.refusal_delay_s (1), got -1"),
    ("1", "30", "-1", "max_held_excess: must be >= 0, got -1"),
])
def test_the_excess_tier_is_validated(delay: str, excess_delay: str, excess: str,
                                      error: str | None) -> None:
    env = {"POCNET_ORACLE_NOT_ONBOARDED_REFUSAL_DELAY_S": delay,
           "POCNET_ORACLE_NOT_ONBOARDED_EXCESS_DELAY_S": excess_delay,
           "POCNET_ORACLE_NOT_ONBOARDED_MAX_HELD_EXCESS": excess}
    if error is None:
        load(env=env)
    else:
        with pytest.raises(SettingsError, match=re.escape(error)):
            load(env=env)


def test_the_excess_tier_by_default() -> None:
    """docs/security.md's defaults: two connections' calls (2 × 16) of one address at the
    short delay, the rest up to the firewall rule's 64 connections of 16 held 15-30 s."""
    n = Settings().not_onboarded
    assert (n.per_peer_held, n.excess_delay_s, n.max_held_excess) == (32, 30.0, 64 * 16)


@pytest.mark.parametrize(("listen", "streams", "error"), [
    ("", 16, None),                   # no hotspot listener
    ("0.0.0.0:7081", 16, None),
    ("127.0.0.1:0", 1, None),         # the smallest limit it can count against
    ("127.0.0.1:0", 0, "connections.hotspot_listen: needs connections.max_streams_per_connection"
                       " > 0 (the calls a connection may queue there), got 0"),
    ("7081", 16, "connections.hotspot_listen: expected HOST:PORT or empty, got '7081'"),
    ("127.0.0.1:65536", 16, "connections.hotspot_listen: expected HOST:PORT or empty"),
    ("127.0.0.1:7080", 16, "connections.hotspot_listen: must differ from oracle.listen "
                           "('127.0.0.1:7080')"),
])
def test_the_hotspot_listener_is_an_address_of_its_own_with_a_limit_per_connection(
        listen: str, streams: int, error: str | None) -> None:
    """The hotspot listener counts a connection's calls against `max_streams_per_connection`
    until the server is done with them: with no limit there is nothing to count against."""
    env = {"POCNET_ORACLE_CONNECTIONS_HOTSPOT_LISTEN": listen,
           "POCNET_ORACLE_CONNECTIONS_MAX_STREAMS_PER_CONNECTION": str(streams),
           "POCNET_ORACLE_NOT_ONBOARDED_PER_PEER_HELD": "0"}
    if error is None:
        assert load(env=env).connections.hotspot_listen == listen
    else:
        with pytest.raises(SettingsError, match=re.escape(error)):
            load(env=env)


def test_the_hotspot_listener_is_on_by_default_on_its_own_loopback_port() -> None:
    """Hotspots' address is the hotspot listener's unless the operator says otherwise; like
    oracle.listen it stays on loopback (plaintext until TLS is set) until the operator opens
    it, on a port of its own beside oracle.listen's 7080 (tools)."""
    s = Settings()
    assert s.connections.hotspot_listen == "127.0.0.1:7081"
    assert hotspot_address(s) == "127.0.0.1:7081" and s.oracle.listen == "127.0.0.1:7080"


@pytest.mark.parametrize(("listen", "hotspot_listen", "streams", "expected"), [
    ("127.0.0.1:0", None, 16, "127.0.0.1:0"),      # beside any free port: any free port
    ("[::1]:0", None, 16, "[::1]:0"),              # ... on the first listener's host
    ("127.0.0.1:1", None, 16, "127.0.0.1:7081"),   # a fixed port: the default's
    ("127.0.0.1:0", "127.0.0.1:7555", 16, "127.0.0.1:7555"),  # set: as set, even beside 0
    ("127.0.0.1:0", "", 16, ""),                   # off
    ("127.0.0.1:7081", None, 16, ""),              # older settings on the default's port
    ("0.0.0.0:7081", None, 16, ""),
    ("0.0.0.0:7080", None, 1, "127.0.0.1:7081"),   # the smallest limit: still on
    ("0.0.0.0:7080", None, 0, ""),                 # older settings with no limit per connection
    ("127.0.0.1:0", None, 0, ""),                  # ... on any free port too
])
def test_the_default_hotspot_address_gives_way_to_throwaway_servers_and_older_settings(
        tmp_path: Path, listen: str, hotspot_listen: str | None, streams: int,
        expected: str) -> None:
    """Settings written before the hotspot listener was on by default set `oracle.listen`
    alone, and load as they did: on the default's port, or with no limit per connection (a
    hotspot listener would have nothing to count calls against), they get the first listener
    alone, not an error. And servers on port 0, which tests, the simulator and `make demo`
    start many of at once, never collide on the default's fixed port."""
    path = tmp_path / "oracle.toml"
    connections = "" if hotspot_listen is None else f'hotspot_listen = "{hotspot_listen}"\n'
    path.write_text(f'[oracle]\nlisten = "{listen}"\n[connections]\n{connections}'
                    f"max_streams_per_connection = {streams}\n"
                    "[not_onboarded]\nper_peer_held = 0\n")
    assert hotspot_address(load(path, env={})) == expected


def test_older_settings_with_only_a_public_oracle_listen_still_load(tmp_path: Path) -> None:
    """The form docs/oracle.md gave before ("0.0.0.0:7080" to serve hotspots): that address
    serves as it did, and the hotspot listener comes up beside it on loopback."""
    path = tmp_path / "oracle.toml"
    path.write_text('[oracle]\nlisten = "0.0.0.0:7080"\n')
    s = load(path, env={})
    assert (s.oracle.listen, hotspot_address(s)) == ("0.0.0.0:7080", "127.0.0.1:7081")
