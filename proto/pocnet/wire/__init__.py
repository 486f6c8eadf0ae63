"""The wire contract: generated protobuf modules, and the one gRPC metadata key outside them.

`STREAM_RETRY_AFTER_KEY`: trailing metadata the oracle adds when its stream limits refuse a
report stream (RESOURCE_EXHAUSTED); the value is whole seconds in ASCII. The hotspot then sends
by unary calls and tries a stream again after that long. docs/protocol.md §1's session rules are
unchanged; a client that ignores the key still works, by retrying streams and falling back.
"""

STREAM_RETRY_AFTER_KEY = "pocnet-stream-retry-after-s"
