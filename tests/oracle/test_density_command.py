"""`pocnet-oracle density`: stdin cells in, scales out (text and JSON), one-line errors."""

from __future__ import annotations

import io
import json
import sys

import pytest

from oracle.cli import main
from pocnet import geo

CELL = geo.latlng_to_cell(38.72, -9.14, 12)
OTHER = geo.latlng_to_cell(52.52, 13.40, 12)


def run(monkeypatch, capsys, text: str, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    code = main(["density", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_text_output_one_line_per_distinct_cell(monkeypatch, capsys) -> None:
    s, o = geo.cell_to_str(CELL), geo.cell_to_str(OTHER)
    code, out, _ = run(monkeypatch, capsys, f"{s}\n{CELL}\n\n{o}\n")
    assert code == 0
    assert out.splitlines() == [f"{s} 0.5000", f"{o} 1.0000"]  # the repeat = 2 hotspots


def test_json_output_numbers_with_four_places(monkeypatch, capsys) -> None:
    s = geo.cell_to_str(CELL)
    code, out, _ = run(monkeypatch, capsys, f"{s}\n{s}\n{s}\n", "--json")
    assert code == 0
    assert out.strip() == f'{{"{s}": 0.3333}}'
    assert json.loads(out) == {s: 0.3333}


def test_hip17_params(monkeypatch, capsys) -> None:
    s = geo.cell_to_str(CELL)
    code, out, _ = run(monkeypatch, capsys, f"{s}\n{s}\n", "--params", "hip17", "--json")
    assert code == 0 and json.loads(out) == {s: 0.5}


@pytest.mark.parametrize("bad", ["zz-not-a-cell", "12345", geo.cell_to_str(
    geo.latlng_to_cell(1.0, 1.0, 9))])
def test_bad_line_is_one_line_exit_2(monkeypatch, capsys, bad: str) -> None:
    code, out, err = run(monkeypatch, capsys, f"{geo.cell_to_str(CELL)}\n{bad}\n")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "line 2" in err
