"""GPS time against UTC (firmware_bridge/gps_time.py), on dates whose GPS week is published."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from firmware_bridge.gps_time import leap_seconds, tmms_at, unix_ns, utc_ns_of_tmms

WEEK_MS = 7 * 86_400_000
# 2017-01-01T00:00:00Z, the day the 18th leap second took effect, is the first day of GPS week
# 1930 (a Sunday; IGS's GPS calendar); GPS time was 18 s into that week.
NEW_YEAR_2017 = datetime(2017, 1, 1, tzinfo=UTC)
NEW_YEAR_2017_TMMS = 1930 * WEEK_MS + 18_000


def test_a_published_gps_week_and_its_leap_seconds() -> None:
    assert unix_ns(NEW_YEAR_2017) == 1_483_228_800 * 10**9
    assert tmms_at(unix_ns(NEW_YEAR_2017)) == NEW_YEAR_2017_TMMS
    assert utc_ns_of_tmms(NEW_YEAR_2017_TMMS) == unix_ns(NEW_YEAR_2017)
    # A day before, 17 leap seconds: GPS week 1929's last day, 17 s short of its end.
    eve = NEW_YEAR_2017 - timedelta(days=1)
    assert tmms_at(unix_ns(eve), leap_s=17) == 1930 * WEEK_MS - 86_400_000 + 17_000


def test_unix_ns_keeps_every_microsecond() -> None:
    moment = datetime(2026, 12, 5, 23, 59, 59, 999_999, tzinfo=UTC)
    assert unix_ns(moment) == 1_796_515_199_999_999_000  # `date -u -d 2026-12-05T23:59:59Z +%s`


def test_tmms_floors_to_the_millisecond() -> None:
    at = unix_ns(NEW_YEAR_2017)
    assert tmms_at(at + 999_999) == NEW_YEAR_2017_TMMS
    assert tmms_at(at + 1_000_000) == NEW_YEAR_2017_TMMS + 1


@pytest.mark.parametrize(("skew_us", "expected"), [
    (0, 18), (999, 18), (1_000, 18), (1_001, None), (-1_000, 18), (-1_001, None),
    (500_000, None),
])
def test_leap_seconds_from_one_records_two_stamps(skew_us: int, expected: int | None) -> None:
    """`time` to the µs and `tmms` floored to the ms agree within a ms when they are one
    instant; half a second apart they are not."""
    utc = NEW_YEAR_2017 + timedelta(microseconds=skew_us)
    assert leap_seconds(utc, NEW_YEAR_2017_TMMS) == expected


@pytest.mark.parametrize(("leap", "expected"), [(0, 0), (60, 60), (61, None), (-1, None)])
def test_leap_seconds_out_of_any_real_range_are_refused(leap: int, expected: int | None) -> None:
    tmms = NEW_YEAR_2017_TMMS - 18_000 + leap * 1_000
    assert leap_seconds(NEW_YEAR_2017, tmms) == expected


def test_a_gps_week_rollover_is_refused() -> None:
    """A receiver past the 1,024-week rollover reports a GPS time 19.6 years off."""
    assert leap_seconds(NEW_YEAR_2017, NEW_YEAR_2017_TMMS - 1024 * WEEK_MS) is None
