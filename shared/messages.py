"""What every message this project publishes has in common.

The usage-event message itself, its schema and its decoder, is `shared.events`.
"""

from __future__ import annotations

# Content type of every message body this project publishes.
CONTENT_TYPE = "application/json"
# Longest foundation name a message may carry.
FOUNDATION_MAX_LENGTH = 64
