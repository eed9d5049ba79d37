"""The README documents every setting the processes read, and only those."""

from __future__ import annotations

import re
from pathlib import Path

from tests.unit.test_deploy_manifests import PROCESS_PACKAGES, _settings_variables

README = Path(__file__).resolve().parents[2] / "README.md"


def _documented() -> set[str]:
    table = README.read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in table.splitlines():
        if line.startswith("| `"):
            names |= set(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1]))
    return names


def test_readme_documents_every_process_setting() -> None:
    settings = set().union(*(_settings_variables(p) for p in PROCESS_PACKAGES.values()))
    assert settings - _documented() == set()


def test_readme_documents_no_setting_that_does_not_exist() -> None:
    settings = set().union(*(_settings_variables(p) for p in PROCESS_PACKAGES.values()))
    assert _documented() - settings == set()


def test_readme_has_the_two_commands() -> None:
    text = README.read_text()
    assert "docker compose up" in text
    assert "python -m pytest" in text
