"""The wire contract: generated protobuf modules, and the one gRPC metadata key outside them.

`STREAM_RETRY_AFTER_KEY`: trailing metadata the oracle adds when its stream limits refuse a
report stream (RESOURCE_EXHAUSTED); the value is whole seconds in ASCII. The hotspot then sends
by unary calls and tries a stream again after that long. docs/protocol.md §1's session rules are
unchanged; a client that ignores the key still works, by retrying streams and falling back.

`MAX_BATCH_REPORTS`, `MAX_BATCH_BYTES`: the most reports one `ReportBatch` may carry on a report
stream, and the most bytes of the `StreamRequest` carrying it (docs/protocol.md §2, "Report
batches"). The oracle ends a stream whose batch is over either with INVALID_ARGUMENT.
"""

STREAM_RETRY_AFTER_KEY = "pocnet-stream-retry-after-s"
MAX_BATCH_REPORTS = 128
MAX_BATCH_BYTES = 64 * 1024
