"""Errors of the protocol package. Decoding and validation raise these, never bare ValueError."""


class ProtoError(Exception):
    """Base of every error raised by the protocol package."""


class DecodeError(ProtoError):
    """Bytes that do not form a valid message, key or address."""


class KeyFileError(ProtoError):
    """A key file that is missing, malformed, or readable by others."""


class SignatureError(ProtoError):
    """A signature that does not verify over the message's canonical bytes."""


class UnknownRegionError(ProtoError):
    """A region name that has no plan, or a location in no known region."""


class RegionTableError(ProtoError):
    """A region table that is inconsistent with itself (a bug in the data, not bad input)."""


class EntropyError(ProtoError):
    """Entropy or local entropy of the wrong length."""
