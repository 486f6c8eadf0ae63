"""`rewards compute|show` and `payout run|status` end to end on a seeded SQLite store and
the embedded VM, through the real command line."""

from __future__ import annotations

import json
from pathlib import Path

import base58
from rewards_seed import EMISSION, EPOCH, EXPECTED_PAID, EXPECTED_WALLETS, deny, seed

from oracle.cli import main
from oracle.storage import open_repository


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_rewards_then_payout(tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "oracle.db")
    repo = open_repository(db)
    seed(repo)
    repo.close()
    common = ["--epoch", str(EPOCH), "--database", db]
    code, out, _ = cli(capsys, "rewards", "compute", *common, "--emission", str(EMISSION))
    assert code == 0 and "stored" in out
    code, out, _ = cli(capsys, "rewards", "compute", *common, "--emission", str(EMISSION))
    assert code == 0 and "identical" in out
    code, out, err = cli(capsys, "rewards", "compute", *common, "--emission", "5")
    assert code == 2 and "differs" in err and len(err.strip().splitlines()) == 1
    code, out, _ = cli(capsys, "rewards", "show", *common, "--json")
    shown = json.loads(out)
    assert shown["total_paid"] == EXPECTED_PAID
    assert {w["wallet"]: w["amount"] for w in shown["wallets"]} == {
        base58.b58encode(k).decode(): v for k, v in EXPECTED_WALLETS.items()}

    pay = ["--ledger", str(tmp_path / "ledger.db"), "--state", str(tmp_path / "svm.state"),
           "--payer", str(tmp_path / "payer.json")]
    code, out, err = cli(capsys, "payout", "run", *common, *pay, "--create")
    assert code == 2 and "payer" in err  # an explicit --payer file must exist, even to create
    pay = pay[:-2]
    code, out, err = cli(capsys, "payout", "run", *common, *pay, "--json")
    assert code == 2 and "no payout ledger" in err and "--create" in err  # never made silently
    assert not (tmp_path / "ledger.db").exists() and not (tmp_path / "payout-payer.json").exists()
    code, out, err = cli(capsys, "payout", "run", *common, *pay, "--create", "--json")
    assert code == 0, err
    assert json.loads(out)["confirmed_now"] == 1
    code, out, _ = cli(capsys, "payout", "status", "--epoch", str(EPOCH), "--ledger",
                       str(tmp_path / "ledger.db"), "--json")
    status = json.loads(out)
    assert status["counts"] == {"planned": 0, "signed": 0, "sent": 0, "confirmed": 1}
    assert all(w["owed"] == w["paid"] == w["epoch_amount"] for w in status["wallets"])
    # A re-run (with the default payer file created on the first run) pays nothing more.
    code, out, _ = cli(capsys, "payout", "run", *common, *pay, "--json")
    assert code == 0 and json.loads(out)["confirmed_now"] == 0


def test_withheld_hotspots_are_named_by_compute_and_show(tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "oracle.db")
    repo = open_repository(db)
    seed(repo)
    deny(repo, 2, "C")
    repo.close()
    common = ["--epoch", str(EPOCH), "--database", db]
    code, out, _ = cli(capsys, "rewards", "compute", *common, "--emission", str(EMISSION))
    assert code == 0 and "withheld from 1 denied hotspots (denylist version 2)" in out
    code, out, _ = cli(capsys, "rewards", "show", *common, "--json")
    shown = json.loads(out)
    assert shown["denylist_version"] == 2 and len(shown["withheld"]) == 1
    assert shown["withheld"][0] not in {h["hotspot"] for h in shown["hotspots"]}
    code, out, _ = cli(capsys, "rewards", "show", *common)
    assert code == 0 and "withheld                  1" in out and shown["withheld"][0] in out


def test_rewards_errors_are_one_line(tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "oracle.db")
    code, _, err = cli(capsys, "rewards", "show", "--epoch", "3", "--database", db)
    assert code == 2 and "no database at" in err and not Path(db).exists()
    open_repository(db).close()
    code, _, err = cli(capsys, "rewards", "show", "--epoch", "3", "--database", db)
    assert code == 2 and "no manifest" in err
    code, _, err = cli(capsys, "rewards", "compute", "--epoch", "99999999", "--database", db)
    assert code == 2 and "not complete" in err
    code, _, err = cli(capsys, "payout", "status", "--epoch", "3", "--ledger",
                       str(tmp_path / "none.db"))
    assert code == 2 and "no payout ledger" in err


def test_compute_while_another_replica_stores_the_epoch_is_one_line(tmp_path: Path,
                                                                     capsys) -> None:
    from oracle.rewards.store import ManifestStore

    db = str(tmp_path / "oracle.db")
    repo = open_repository(db)
    seed(repo)
    ManifestStore(repo).claim(EPOCH)  # another replica's run, in progress
    repo.close()
    code, _, err = cli(capsys, "rewards", "compute", "--epoch", str(EPOCH), "--database", db,
                       "--emission", str(EMISSION))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"epoch {EPOCH} is being stored by another run" in err
    code, _, err = cli(capsys, "rewards", "show", "--epoch", str(EPOCH), "--database", db)
    assert code == 2  # nothing stored


def test_sigterm_during_compute_lets_go_of_the_epoch(tmp_path: Path, capsys,
                                                     monkeypatch) -> None:
    """systemd or cron's `timeout` stops a run with SIGTERM: the claim must not outlive it,
    or every replica would wait out the 15-minute lease."""
    import os
    import signal

    import pytest

    from oracle.rewards.store import ManifestStore

    db = str(tmp_path / "oracle.db")
    repo = open_repository(db)
    seed(repo)
    real = ManifestStore.add_shares

    def terminated_while_storing(self, epoch, rows, token):
        os.kill(os.getpid(), signal.SIGTERM)
        real(self, epoch, rows, token)

    monkeypatch.setattr(ManifestStore, "add_shares", terminated_while_storing)
    with pytest.raises(SystemExit) as stopped:
        main(["rewards", "compute", "--epoch", str(EPOCH), "--database", db,
              "--emission", str(EMISSION)])
    assert stopped.value.code == 143
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL    # the handler is gone again
    with repo.transaction() as tx:
        tx.execute("SELECT COUNT(*) FROM rewards_claims")
        assert tx.fetchone()[0] == 0
    assert ManifestStore(repo).load(EPOCH) is None
    repo.close()


def test_a_test_network_rewards_and_pays_a_short_epoch(tmp_path: Path, capsys,
                                                       monkeypatch) -> None:
    """[network] epoch_s = 3600 and [verifier] stale_after_s: hour epochs; an empty one is
    refused with a warning-free one-line error unless --allow-empty, which warns; `payout
    status` takes the same --database as `payout run` and knows an epoch that paid nobody."""
    db = str(tmp_path / "oracle.db")
    repo = open_repository(db)
    seed(repo)
    repo.close()
    config = tmp_path / "oracle.toml"
    config.write_text("[network]\nepoch_s = 3600\n[verifier]\nstale_after_s = 300\n")
    common = ["--config", str(config), "--database", db]
    hour_epoch = EPOCH * 24 + 1
    code, out, err = cli(capsys, "rewards", "compute", "--epoch", str(hour_epoch), *common,
                         "--emission", str(EMISSION), "--json")
    assert code == 0, err
    assert json.loads(out)["total_paid"] == EXPECTED_PAID and err == ""
    code, _, err = cli(capsys, "rewards", "compute", "--epoch", str(hour_epoch - 1), *common)
    assert code == 2 and "--allow-empty" in err and err.count("\n") == 1
    code, out, err = cli(capsys, "rewards", "compute", "--epoch", str(hour_epoch - 1), *common,
                         "--allow-empty", "--json")
    assert code == 0 and json.loads(out)["stored"] and "stored empty" in err
    code, out, _ = cli(capsys, "rewards", "show", "--epoch", str(hour_epoch - 1), *common)
    per_share = {line.split()[0]: line.split()[1] for line in out.splitlines()[:11]}
    assert per_share["beacon_reward_per_share"] == per_share["witness_reward_per_share"] == "0"
    pay = ["--epoch", str(hour_epoch - 1), *common, "--ledger", str(tmp_path / "ledger.db")]
    code, out, err = cli(capsys, "payout", "run", *pay, "--create", "--json")
    assert code == 0 and json.loads(out)["batches"] == 0, err
    code, out, err = cli(capsys, "payout", "status", *pay, "--json")
    assert code == 0, err
    assert json.loads(out)["batches"] == [] and json.loads(out)["wallets"] == []


def test_a_second_payout_run_on_the_same_ledger_exits_2_at_once(tmp_path: Path,
                                                               capsys) -> None:
    import fcntl

    db = str(tmp_path / "oracle.db")
    repo = open_repository(db)
    seed(repo)
    repo.close()
    common = ["--epoch", str(EPOCH), "--database", db]
    assert cli(capsys, "rewards", "compute", *common, "--emission", str(EMISSION))[0] == 0
    ledger = tmp_path / "ledger.db"
    with open(f"{ledger}.lock", "a") as held:  # the first run, still paying
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        code, _, err = cli(capsys, "payout", "run", *common, "--ledger", str(ledger),
                           "--create")
    assert code == 2 and "another `payout run`" in err and err.count("\n") == 1
    code, out, err = cli(capsys, "payout", "run", *common, "--ledger", str(ledger), "--create",
                         "--json")
    assert code == 0 and json.loads(out)["confirmed_now"] == 1, err
