"""u-blox GNSS receivers (UBX NAV-PVT, NMEA fallback) on a serial port or from a capture."""
