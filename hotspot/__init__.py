"""The hotspot daemon hotspot owners run on a Raspberry Pi gateway."""
