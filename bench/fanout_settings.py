"""The project's settings, with the channel layer the fan-out benchmark compares.

`FANOUT_LAYER=pubsub` (default) keeps the settings' layer (channels_redis's
RedisPubSubChannelLayer); `FANOUT_LAYER=core` swaps in channels_redis's core RedisChannelLayer,
stock, on the same Redis URL and prefix. Only bench/fanout.py points DJANGO_SETTINGS_MODULE
here.
"""

import os

from config.settings.base import *  # noqa: F403
from config.settings.base import CHANNEL_LAYERS, REDIS_URL

FANOUT_LAYER = os.environ.get("FANOUT_LAYER", "pubsub")

if FANOUT_LAYER == "core":
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [{"address": REDIS_URL}],
                "prefix": CHANNEL_LAYERS["default"]["CONFIG"]["prefix"],
            },
        }
    }
elif FANOUT_LAYER != "pubsub":
    raise SystemExit(f"FANOUT_LAYER must be core or pubsub, not {FANOUT_LAYER!r}")
