"""Re-exports of `core.times` for modules not yet moved (games/services.py,
realtime/consumers/game.py); this module goes once they import `core.times`."""

from core.times import iso_utc, unix_seconds

__all__ = ["iso_utc", "unix_seconds"]
