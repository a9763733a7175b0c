"""Leaving a channel-layer group, for every consumer."""

from __future__ import annotations

import asyncio
import logging

logger = logging.getLogger(__name__)

# Pauses between attempts to leave a group; after the last, the failure is logged.
LEAVE_RETRY_PAUSES = (0.1, 0.5, 2.0)


async def group_leave(layer, group: str, channel: str) -> None:
    """Leave `group`, retrying a failed removal: a dead member would stay in the group
    until it expires, and every broadcast would pay for it meanwhile."""
    for attempt, pause in enumerate((*LEAVE_RETRY_PAUSES, None)):
        try:
            await layer.group_discard(group, channel)
            return
        except Exception:
            if pause is None:
                logger.exception("Leaving %s failed after %d attempts", group, attempt + 1)
                return
            logger.warning("Leaving %s failed; retrying", group, exc_info=True)
            await asyncio.sleep(pause)
