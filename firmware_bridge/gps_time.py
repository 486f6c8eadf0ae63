"""GPS time against Unix (UTC) time: what a concentrator's `tmms` counts and a receiver's week
and time of week are on.

GPS time started at 1980-01-06T00:00:00 UTC and has no leap seconds, so it runs ahead of UTC by
the leap seconds inserted since: 18 s since 2017-01-01 (IERS Bulletin C; none announced since).
A driver that sees both clocks in one record (an rxpk's `time`, UTC, and `tmms`, GPS) learns the
offset from them rather than trusting this constant, which the next leap second would make wrong.
"""

from __future__ import annotations

from datetime import UTC, datetime

NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000
GPS_EPOCH = datetime(1980, 1, 6, tzinfo=UTC)
GPS_EPOCH_UNIX_NS = 315_964_800 * NS_PER_S
GPS_UTC_LEAP_S = 18
# Leap seconds a record may claim: GPS − UTC was 0 at the epoch and grows by one at most twice a
# year; anything outside is a forwarder's bad clock (a GPS week rollover reads as 1024 weeks).
LEAP_RANGE_S = (0, 60)


def unix_ns(moment: datetime) -> int:
    """Exact ns since the Unix epoch of an aware datetime (µs resolution, no float rounding)."""
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * NS_PER_S + delta.microseconds * 1_000


def tmms_at(utc_ns: int, leap_s: int = GPS_UTC_LEAP_S) -> int:
    """GPS milliseconds since the GPS epoch at a Unix instant (floor to the ms)."""
    return (utc_ns - GPS_EPOCH_UNIX_NS + leap_s * NS_PER_S) // NS_PER_MS


def utc_ns_of_tmms(tmms: int, leap_s: int = GPS_UTC_LEAP_S) -> int:
    """The Unix instant, ns, of a GPS millisecond count."""
    return tmms * NS_PER_MS + GPS_EPOCH_UNIX_NS - leap_s * NS_PER_S


def leap_seconds(utc: datetime, tmms: int) -> int | None:
    """GPS − UTC in whole seconds from one record's two stamps of one instant (`time` is to the
    µs, `tmms` to the ms, so the difference is a whole second within a ms); None when the two
    disagree with any real offset."""
    diff_ns = utc_ns_of_tmms(tmms, 0) - unix_ns(utc)
    leap = round(diff_ns / NS_PER_S)
    if abs(diff_ns - leap * NS_PER_S) > NS_PER_MS or not LEAP_RANGE_S[0] <= leap <= LEAP_RANGE_S[1]:
        return None
    return leap
