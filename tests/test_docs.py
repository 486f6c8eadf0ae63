"""The project's docs stand alone: every document the code, tests and docs cite is in the
repository, every cited section of docs/protocol.md exists, and nothing points outside."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TEXT_SUFFIXES = {".py", ".md", ".proto", ".sql", ".toml", ".service", ".txt"}
CITATION = re.compile(r"\bdocs/([a-z0-9_-]+\.md)(?: §(\d+))?")
# Citations of documents that are not in the repository (the design repository's files).
OUTSIDE = re.compile(r"PROTOCOL(?:\.md)? §\d|\.\./shared|\bPROTOCOL\.md\b"
                     r"|\b(?:STORAGE|DESIGN|LORA_PHY|STYLE)\.md\b")


def _files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, capture_output=True, text=True, check=True).stdout
    return [REPO / name for name in listed.splitlines()
            if Path(name).suffix in TEXT_SUFFIXES and (REPO / name).is_file()]


def test_every_cited_document_and_section_exists() -> None:
    sections = {
        path.name: set(re.findall(r"^## (\d+)\.", path.read_text(encoding="utf-8"), re.M))
        for path in (REPO / "docs").glob("*.md")
    }
    missing = []
    for path in _files():
        for name, section in CITATION.findall(path.read_text(encoding="utf-8")):
            if name not in sections or (section and section not in sections[name]):
                missing.append(f"{path.relative_to(REPO)}: docs/{name} §{section}")
    assert missing == []
    assert sections["protocol.md"] == {"1", "2", "3", "4", "5", "6"}


def test_nothing_cites_documents_outside_the_repository() -> None:
    found = [
        f"{path.relative_to(REPO)}:{n}: {line.strip()}"
        for path in _files() if path.name != "test_docs.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert found == []


def test_protocol_doc_names_every_verdict_reason() -> None:
    from pocnet.wire import verdict_pb2

    text = (REPO / "docs" / "protocol.md").read_text(encoding="utf-8")
    for reason in verdict_pb2.InvalidReason.DESCRIPTOR.values:
        if reason.number:
            assert f"`{reason.name}` {reason.number}" in text, reason.name
