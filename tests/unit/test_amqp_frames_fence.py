"""The hand-written frame paths are used on the pika versions they are tested with, and on
no other: there pika's own classes take over, and a warning says so."""

from __future__ import annotations

import pika
import pytest
import structlog
from pika.adapters.select_connection import SelectConnection

from shared import amqp_frames
from shared.amqp_frames import reading, writing


def test_fence_the_installed_pika_is_a_tested_one() -> None:
    """pyproject.toml pins pika to a tested version: a new one must be tested before use."""
    assert pika.__version__ in amqp_frames.TESTED_PIKA_VERSIONS
    assert amqp_frames.enabled()
    assert amqp_frames.receiving(whole_deliveries=True) is reading.DeliveryConnection
    assert amqp_frames.receiving(whole_deliveries=False) is reading.LenientConnection
    assert amqp_frames.publishing() is writing.PublishingConnection


@pytest.mark.parametrize("version", ["1.3.2", "1.4.5", "2.0.0", "1.4.4.dev0"])
def test_fence_any_other_pika_gets_pikas_own_path_and_a_warning(
    version: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pika, "__version__", version)
    with structlog.testing.capture_logs() as logs:
        assert not amqp_frames.enabled()
        assert amqp_frames.receiving(whole_deliveries=True) is SelectConnection
        assert amqp_frames.receiving(whole_deliveries=False) is SelectConnection
        assert amqp_frames.publishing() is SelectConnection
    warnings = [entry for entry in logs if entry["event"] == "pika_untested"]
    assert [w["version"] for w in warnings] == [version]  # once per version and process
    assert amqp_frames.enabled(version) is False


def test_fence_a_caller_may_force_either_path() -> None:
    assert amqp_frames.receiving(True, hand_written=False) is SelectConnection
    assert amqp_frames.publishing(hand_written=False) is SelectConnection
    assert amqp_frames.publishing(hand_written=True) is writing.PublishingConnection
