"""The independent LoRa implementation the known-answer tests compare against.

`lora-phy` (PyPI, MIT; a Python port of LoRaPHY) is a test dependency. Its package
`__init__` imports a module written for Python 3.12, so its transmitter and common modules
are loaded on their own under a stand-in package.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types

import pytest


def load(module: str) -> types.ModuleType:
    if not hasattr(sys.modules.get("lora_phy"), "__path__"):
        spec = importlib.util.find_spec("lora_phy")
        if spec is None or not spec.submodule_search_locations:
            pytest.skip("lora-phy is not installed (pip install 'pocnet[test]')")
        package = types.ModuleType("lora_phy")
        package.__path__ = list(spec.submodule_search_locations)
        sys.modules["lora_phy"] = package
    return importlib.import_module(f"lora_phy.{module}")
