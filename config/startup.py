"""What a serving process does once the application is loaded."""

from __future__ import annotations

import gc


def freeze_start_up_objects() -> None:
    """Collect what start-up left behind, then exempt every surviving object from later
    collections: Django, the URLconf, the models and the libraries live as long as the
    process, and a full collection walked them all every few seconds under load, for
    120-240 ms each (bench/fanout.py, issue 10)."""
    gc.collect()
    gc.freeze()
