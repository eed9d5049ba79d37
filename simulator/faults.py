"""Injected failures for usage-event list answers: 500, 502 and 429 with Retry-After."""

from __future__ import annotations

import random
import threading

from simulator import cferrors
from simulator.exchange import Response

# Seconds a 429 asks the client to wait.
RETRY_AFTER = 1
# The gorouter's answer when the backend fails.
_BAD_GATEWAY = b"502 Bad Gateway: Registered endpoint failed to handle the request.\n"


class Faults:
    """Decides, with a seeded generator, which list requests fail and how."""

    def __init__(self, rate: float, seed: int) -> None:
        self._rate = rate
        self._rng = random.Random(seed ^ 0xFA17)
        self._lock = threading.Lock()

    def pick(self, v3: bool) -> Response | None:
        if self._rate <= 0:
            return None
        with self._lock:
            if self._rng.random() >= self._rate:
                return None
            kind = self._rng.choice((500, 502, 429))
        if kind == 500:
            return cferrors.v3_unknown() if v3 else cferrors.v2_unknown()
        if kind == 502:
            return Response(502, _BAD_GATEWAY, "text/plain; charset=utf-8")
        retry = {"Retry-After": str(RETRY_AFTER)}
        error = cferrors.RATE_LIMIT_EXCEEDED
        return cferrors.v3(error, headers=retry) if v3 else cferrors.v2(error, headers=retry)
