"""Exit codes of the commands, the same for each: what a script calling them can rely on."""

from __future__ import annotations

from shared.settings import EXIT_CONFIG

# Done.
OK = 0
# The work failed: an error reply, a refused file, a migration refused.
FAILED = 1
# Bad arguments or a missing or malformed environment variable (the contract's 2).
CONFIG = EXIT_CONFIG
# No reply within --timeout.
TIMEOUT = 3
# RabbitMQ could not be reached, or the connection was lost.
BROKER = 4
