"""The keepalive agreement between hotspots and oracles (HTTP/2 pings on a gRPC connection).

A report stream can sit idle for minutes between beacons, and NAT boxes forget an idle TCP
flow, so the hotspot pings. gRPC servers count pings that arrive more often than they allow as
"strikes" and close the connection with GOAWAY "too_many_pings" after a few: with gRPC's
default server policy (one ping per 5 min without data) the hotspot's pings every 60 s ended
every open stream (issue 10 item 6). Both sides take their settings from this one table, the
server allowing pings twice as often as the client sends them (timers drift, and a ping right
after a reconnect must not count as a strike).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KeepalivePolicy:
    client_ping_interval_ms: int = 60_000  # the hotspot pings an open connection this often
    client_ping_timeout_ms: int = 20_000  # and gives up on it when no answer comes this fast
    server_ping_interval_ms: int = 120_000  # the oracle pings too, to free dead peers' slots
    server_ping_timeout_ms: int = 20_000

    @property
    def server_min_ping_interval_ms(self) -> int:
        """Pings closer together than this are strikes: half the client's interval."""
        return self.client_ping_interval_ms // 2

    def client_options(self) -> tuple[tuple[str, int], ...]:
        return (
            ("grpc.keepalive_time_ms", self.client_ping_interval_ms),
            ("grpc.keepalive_timeout_ms", self.client_ping_timeout_ms),
            ("grpc.keepalive_permit_without_calls", 0),  # no calls: the server may close it
            ("grpc.http2.max_pings_without_data", 0),  # an idle stream keeps its NAT entry
        )

    def grpclib_client_config(self) -> dict[str, float | bool | int]:
        """The same pings for the hotspot's client, which is grpclib (keyword arguments of
        `grpclib.config.Configuration`; named here so this package needs no grpclib)."""
        return {
            "_keepalive_time": self.client_ping_interval_ms / 1000,
            "_keepalive_timeout": self.client_ping_timeout_ms / 1000,
            "_keepalive_permit_without_calls": False,
            "_http2_max_pings_without_data": 0,
            # grpclib skips a due ping sent sooner than this after the last one: its default
            # (300 s) would stretch the pings to 5 min, past many NAT timeouts, and exactly the
            # interval could skip every other ping when its timer fires a hair early. What the
            # oracle allows keeps both sides of the agreement on one number.
            "_http2_min_sent_ping_interval_without_data": self.server_min_ping_interval_ms / 1000,
        }

    def server_options(self) -> tuple[tuple[str, int], ...]:
        return (
            ("grpc.keepalive_time_ms", self.server_ping_interval_ms),
            ("grpc.keepalive_timeout_ms", self.server_ping_timeout_ms),
            ("grpc.http2.min_ping_interval_without_data_ms", self.server_min_ping_interval_ms),
            ("grpc.keepalive_permit_without_calls", 0),
            ("grpc.http2.max_ping_strikes", 2),
        )


KEEPALIVE = KeepalivePolicy()
