"""A password hasher for tests that counts how many passwords it hashes or checks."""

from __future__ import annotations

import threading
import time

from django.contrib.auth.hashers import MD5PasswordHasher


class CountingHasher(MD5PasswordHasher):
    """MD5 (fast), but every hash computed is counted (a check hashes the guess once; so
    does the dummy check for an unknown account), and each takes `delay` seconds, as a real
    slow hash does: that pause is the window in which concurrent guesses race the lockout."""

    algorithm = "counting_md5"
    delay = 0.0
    calls = 0
    _lock = threading.Lock()

    @classmethod
    def reset(cls, *, delay: float = 0.0) -> None:
        with cls._lock:
            cls.calls = 0
            cls.delay = delay

    @classmethod
    def _count(cls) -> None:
        with cls._lock:
            cls.calls += 1
        if cls.delay:
            time.sleep(cls.delay)

    def encode(self, password, salt):
        self._count()
        return super().encode(password, salt)
