"""A software-defined radio: the LoRa modem done in numpy on IQ samples.

Concentrators and serial modules hide the physical layer; an SDR hands the host raw IQ, so
this package is the modem: `phy/` holds the bit-level rules (one module per rule),
`modem.py` turns symbols into chirps and back, `sync.py` finds frames and their offsets,
`receiver.py` decodes a capture, `channelizer.py` splits a wideband capture into channels,
`iq_files.py` and the hardware backends produce IQ, and `radio.py` is the `Radio` adapter.
numpy is the only dependency (the `sdr` extra).
"""
