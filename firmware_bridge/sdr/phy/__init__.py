"""The LoRa physical layer's bit-level rules, each in the module named for it.

The receiver inverts each rule in the same module, so a rule exists exactly once.
"""
