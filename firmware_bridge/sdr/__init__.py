"""A software-defined radio: the LoRa modem done in numpy on IQ samples.

Concentrators and serial modules hide the physical layer; an SDR hands the host raw IQ, so
this package is the modem. `phy/` holds the bit-level rules (one module per rule);
`modem.py` turns symbols into chirps and back; `sync.py` finds frames and their offsets;
`receiver.py` decodes one channel; `channelizer.py` splits a wideband capture into channels
and `scanner.py` decodes all of them; `iq_files.py` reads and writes recordings; the front
ends (`frontend.py`: one interface; `replay.py`, `rtlsdr.py`, `pluto.py`) move IQ; and
`radio.py` is the `Radio` adapter. numpy is the only dependency (the `sdr` extra); the
hardware drivers are extras of their own, imported when a front end opens.
"""
