"""`pocnet-oracle map`: the file it writes, its JSON, and bad input as one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rewards_seed import EPOCH, seed

from oracle.cli import main
from oracle.storage import open_repository


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'oracle.db'}"
    repo = open_repository(url)
    try:
        repo.migrate()
        seed(repo)
    finally:
        repo.close()
    return url


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as done:  # argparse's own errors
        code = int(done.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_writes_the_page_and_says_what_is_on_it(database: str, tmp_path: Path, capsys) -> None:
    overlay = tmp_path / "truth.csv"
    overlay.write_text("address,lat,lon,label\nsome-hotspot,52.5,13.4,true location\n")
    page = tmp_path / "maps" / "epoch.html"
    code, out, _ = _run(capsys, "map", "--epoch", str(EPOCH), "--out", str(page),
                        "--database", database, "--overlay", str(overlay), "--json")
    assert code == 0
    assert json.loads(out) == {"epoch": EPOCH, "path": str(page), "rewarded": False,
                               "hotspots": 4, "links": 4, "valid_links": 3, "hexes": 2,
                               "overlay": 1}
    assert page.stat().st_size > 1_000_000  # plotly.js is inside the page
    code, out, _ = _run(capsys, "map", "--epoch", str(EPOCH), "--out", str(page),
                        "--database", database)
    assert code == 0 and out.startswith(f"epoch {EPOCH}: 4 hotspots, 4 witness links")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--epoch", "99999999999999999999999"], "--epoch: must be between 0 and"),
        (["--epoch", "-1"], "--epoch: must be between 0 and"),
        (["--overlay", "{missing}"], "cannot read"),
        (["--overlay", "{no_lat}"], "missing column(s) lat"),
        (["--overlay", "{bad_lat}"], ":2: lat/lon must be numbers"),
        (["--overlay", "{far_lat}"], ":2: lat/lon out of range"),
        (["--out", "{dir}"], "is a directory"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    database: str, tmp_path: Path, capsys, argv: list[str], message: str
) -> None:
    files = {
        "missing": tmp_path / "nope.csv",
        "no_lat": tmp_path / "a.csv",
        "bad_lat": tmp_path / "b.csv",
        "far_lat": tmp_path / "c.csv",
        "dir": tmp_path,
    }
    files["no_lat"].write_text("address,lon\nx,5\n")
    files["bad_lat"].write_text("address,lat,lon\nx,north,5\n")
    files["far_lat"].write_text("address,lat,lon\nx,95,5\n")
    argv = [a.format(**{k: str(v) for k, v in files.items()}) for a in argv]
    base = {"--epoch": str(EPOCH), "--out": str(tmp_path / "m.html")}
    for option, value in zip(argv[::2], argv[1::2], strict=True):
        base[option] = value
    args = [x for pair in base.items() for x in pair]
    code, out, err = _run(capsys, "map", *args, "--database", database)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "m.html").exists()
