"""Shared fixtures: one in-process simulator per module for read-only server tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import structlog

from simulator.app import Simulator
from tests.simulator import fixtures

# A fixed history so tests can regenerate the same events for comparison.
SEED = 11
EVENTS = 1500
START = "2026-01-01T00:00:00Z"


@pytest.fixture(autouse=True, scope="module")
def _quiet_logs() -> Iterator[None]:
    """In-process simulators log each request at debug; keep test output to warnings."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    yield
    structlog.reset_defaults()


@pytest.fixture(scope="module")
def simulator() -> Iterator[Simulator]:
    with fixtures.in_process(seed=SEED, events=EVENTS, start=START) as running:
        yield running


@pytest.fixture(scope="module")
def url(simulator: Simulator) -> str:
    return simulator.url


@pytest.fixture(scope="module")
def reader_headers(url: str) -> dict[str, str]:
    """cloud_controller.admin_read_only via client credentials."""
    return fixtures.bearer(fixtures.token(url))
