"""Drivers for the hotspot's hardware, each behind the interfaces in `interfaces.py`."""
