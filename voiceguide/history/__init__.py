"""The session log: every session played, how far it got, and the check-ins.

Health data (pain ratings and notes) lives here and only here. It is a real
database (SQLite in WAL mode, versioned migrations) because several processes
write to it at once: `serve` for the web player and the schedules, `play`
and `cast` from a terminal.
"""

from .database import SCHEMA_VERSION, connect, default_path
from .log import CheckIn, Log, Run

__all__ = ["SCHEMA_VERSION", "CheckIn", "Log", "Run", "connect", "default_path"]
