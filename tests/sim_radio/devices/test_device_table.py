"""The kind -> module table behind `pocnet-sim device`."""

from __future__ import annotations

import argparse
import inspect

import pytest

from sim_radio.devices import DEVICE_MODULES, KINDS, load


def test_kinds() -> None:
    assert set(KINDS) == {"rak3172", "rn2483", "ublox", "quectel", "packet-forwarder", "sdr"}
    assert DEVICE_MODULES["packet-forwarder"] == "packet_forwarder"


@pytest.mark.parametrize("kind", ["rak3172", "rn2483", "ublox"])
def test_device_module_api(kind: str) -> None:
    module = load(kind)
    assert inspect.iscoroutinefunction(module.serve)
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    parser.parse_args([])           # every option has a default


def test_unknown_kind() -> None:
    with pytest.raises(KeyError):
        load("sx1302")
