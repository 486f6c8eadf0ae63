"""Errors of rewards and payouts; each names what failed so a CLI prints it as one line."""

from __future__ import annotations

from oracle.errors import OracleError


class RewardsError(OracleError):
    """Base of the rewards and payout errors."""


class EpochNotReady(RewardsError):
    """The epoch's data is not complete yet (unverified beacons, or end + 45 min not passed)."""


class EmptyEpoch(RewardsError):
    """The epoch has no reward share: stored, it would stay empty for good (a manifest is
    stored once), so it is stored only when the operator says so."""


class ManifestMismatch(RewardsError):
    """A recomputed manifest differs from the stored one; the stored one stands."""


class EpochBusy(RewardsError):
    """Another run (another replica) is storing this epoch right now."""


class ClaimLost(RewardsError):
    """This run's claim on the epoch was taken over (it looked dead); it writes nothing more."""


class DenylistMissing(RewardsError):
    """The denylist version a stored manifest was computed under is not in this database
    (restored from elsewhere?): recomputing under another would pay differently."""


class ManifestMissing(RewardsError):
    """No manifest stored for the epoch (run `rewards compute` first)."""


class PayoutError(RewardsError):
    """A payout that cannot proceed (earlier epoch unfinished, chain refused, ledger conflict)."""


class ChainError(PayoutError):
    """The chain backend failed or answered with an error."""
