"""The device key: created once (mode 0600), loaded at start, refused when others can read it.

Wraps `pocnet.keys` so the daemon and the `keys` command share one policy and one error type.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from google.protobuf.message import Message

from hotspot.errors import KeyStoreError
from pocnet import signing
from pocnet.errors import KeyFileError
from pocnet.keys import Keypair, Network, PublicKey, create_keyfile, load_keyfile


def _check_private(path: Path) -> None:
    """Refuse a key that group or others could read: such a key may already be copied."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise KeyStoreError(
            f"{path}: no key file; create one with `pocnet-hotspot keys create`"
        ) from None
    except OSError as exc:
        raise KeyStoreError(f"{path}: cannot read key file: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyStoreError(
            f"{path}: key file mode {stat.S_IMODE(mode):04o} lets others read it; "
            f"run `chmod 600 {path}`"
        )


class KeyStore:
    """The hotspot's signing identity."""

    def __init__(self, keypair: Keypair) -> None:
        self._keypair = keypair

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> KeyStore:
        path = Path(path)
        _check_private(path)
        try:
            return cls(load_keyfile(path))
        except KeyFileError as exc:
            raise KeyStoreError(f"{path}: {exc}") from None

    @classmethod
    def create(cls, path: str | os.PathLike[str], network: Network = Network.MAINNET) -> KeyStore:
        path = Path(path)
        if path.exists():
            raise KeyStoreError(f"{path}: a key already exists; it is never overwritten")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return cls(create_keyfile(path, network))
        except KeyFileError as exc:
            raise KeyStoreError(f"{path}: {exc}") from None
        except OSError as exc:
            raise KeyStoreError(f"{path}: cannot create key file: {exc.strerror}") from None

    @property
    def keypair(self) -> Keypair:
        return self._keypair

    @property
    def public_key(self) -> PublicKey:
        return self._keypair.public_key

    @property
    def key_bytes(self) -> bytes:
        return self._keypair.public_key.to_bytes()

    @property
    def address(self) -> str:
        return self._keypair.public_key.address

    def sign(self, msg: Message, field: str = "signature") -> Message:
        """Sign a report with the device key (docs/protocol.md §1), in place; returns it."""
        return signing.sign(msg, self._keypair, field=field)
