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


def test_readme_and_docs_send_no_reader_outside_the_repository() -> None:
    for path in [README, *README.parent.joinpath("docs").glob("*.md")]:
        assert "../shared/" not in path.read_text(), path.name


def test_readme_lists_every_metric_the_processes_export() -> None:
    from tests.unit.test_monitoring import exported_names

    text = README.read_text()
    own = {n for n in exported_names() if n.startswith("paas_billing_")}
    bases = {re.sub(r"_(total|bucket|count|sum|created)$", "", n) for n in own}
    missing = [
        name
        for name in sorted(bases)
        if name not in text and "_" + name.split("_", 3)[3] not in text
    ]
    assert missing == []
