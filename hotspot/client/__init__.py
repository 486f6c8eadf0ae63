"""The hotspot's side of the oracle's gRPC services: one thin wrapper per service."""
