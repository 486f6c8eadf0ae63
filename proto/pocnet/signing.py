"""The signing rule every signed message follows (docs/protocol.md §1).

Serialise the message with its signature field(s) empty, sign those bytes, put the signature
in; verification repeats the same. Serialisation is always deterministic so the signer and the
verifier, in any language, hash the same bytes.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import TypeVar

from google.protobuf.message import Message

from pocnet.errors import DecodeError, SignatureError
from pocnet.keys import Keypair, PublicKey
from pocnet.wire import ingest_pb2

M = TypeVar("M", bound=Message)

SIGNATURE_FIELD = "signature"
# registry.proto: each party signs the message with every signature field of its kind empty,
# so the hotspot, the maker and the owner may sign in any order.
ASSERTION_SIGNATURES = ("hotspot_signature", "owner_signature", "maker_signature")
TRANSFER_SIGNATURES = ("owner_signature",)
# docs/protocol.md §1: the server's stream nonce is 32 random bytes.
SESSION_NONCE_LEN = 32


def _fields(field: str, fields: Sequence[str] | None) -> tuple[str, ...]:
    """The fields to blank: always the one being signed, plus any other signature fields."""
    if fields is None:
        return (field,)
    return tuple(fields) if field in fields else (field, *fields)


def canonical_bytes(msg: Message, fields: Sequence[str] = (SIGNATURE_FIELD,)) -> bytes:
    """The bytes that are signed: `msg` serialised with `fields` cleared, deterministically.

    The message itself is not changed. Clearing (rather than setting to empty bytes) and the
    proto3 rule that empty scalars are not emitted give the same bytes, so Helium's
    "signature = []" convention is matched.
    """
    for name in fields:
        if getattr(msg, name):
            break
    else:  # nothing to clear (a report not signed yet): the same bytes without the copy,
        # which was most of this function for a simulator that builds millions of reports
        return msg.SerializeToString(deterministic=True)
    copy = type(msg)()
    copy.CopyFrom(msg)
    for name in fields:
        copy.ClearField(name)
    return copy.SerializeToString(deterministic=True)


def sign(
    msg: M, keypair: Keypair, field: str = SIGNATURE_FIELD, fields: Sequence[str] | None = None
) -> M:
    """Sign `msg` in place into `field`; `fields` lists every signature field to blank first
    (for messages carrying two signatures, e.g. hotspot and owner). Returns `msg`."""
    signature = keypair.sign(canonical_bytes(msg, _fields(field, fields)))
    setattr(msg, field, signature)
    return msg


def verify(
    msg: Message,
    public_key: PublicKey,
    field: str = SIGNATURE_FIELD,
    fields: Sequence[str] | None = None,
) -> None:
    """Raise SignatureError unless `field` holds `public_key`'s signature of the canonical bytes."""
    signature = getattr(msg, field)
    if not signature:
        raise SignatureError(f"{msg.DESCRIPTOR.name} is not signed ({field} is empty)")
    public_key.verify(canonical_bytes(msg, _fields(field, fields)), signature)


def report_id(msg: Message) -> bytes:
    """Content-hash id of a report: SHA-256 of its canonical bytes.

    The same report has the same id whichever key signed it (device or session key), which is
    what lets the oracle deduplicate resubmissions.
    """
    return id_of_canonical(canonical_bytes(msg))


def id_of_canonical(canonical: bytes) -> bytes:
    """`report_id` from canonical bytes already made: ingest and the simulator serialise a
    report once, for its signature and its id both."""
    return hashlib.sha256(canonical).digest()


def session_init(device: Keypair, nonce: bytes, session: Keypair) -> ingest_pb2.SessionInit:
    """The client's answer to a stream's session offer, signed by the device key."""
    if len(nonce) != SESSION_NONCE_LEN:
        raise DecodeError(f"session nonce must be {SESSION_NONCE_LEN} bytes, got {len(nonce)}")
    init = ingest_pb2.SessionInit(
        pub_key=device.public_key.to_bytes(),
        nonce=bytes(nonce),
        session_key=session.public_key.to_bytes(),
    )
    return sign(init, device)


def verify_session_init(
    init: ingest_pb2.SessionInit, nonce: bytes
) -> tuple[PublicKey, PublicKey]:
    """Check a session init against the nonce this server offered; return (device, session).

    A replayed init (another stream's nonce) fails like a bad signature: the caller must close
    the stream either way. So does an init whose session key is the device key itself: §1 asks
    for a fresh key, so that what the stream signs is worthless once the session ends.
    """
    device = PublicKey.from_bytes(init.pub_key)
    session = PublicKey.from_bytes(init.session_key)
    if len(nonce) != SESSION_NONCE_LEN or not hmac.compare_digest(init.nonce, nonce):
        raise SignatureError("session init does not answer this stream's nonce")
    if session.raw == device.raw:
        raise SignatureError("the session key must be a fresh key, not the device key")
    verify(init, device)
    return device, session
