"""The project's settings, with the channel layer the fan-out benchmark compares.

`FANOUT_LAYER=core` (default) keeps the settings' layer (realtime.layers.PooledRedisChannelLayer,
channels_redis's core layer); `FANOUT_LAYER=pubsub` swaps in channels_redis's
RedisPubSubChannelLayer on the same Redis URL and prefix. Only bench/fanout.py points
DJANGO_SETTINGS_MODULE here.
"""

import os

from config.settings.base import *  # noqa: F403
from config.settings.base import CHANNEL_LAYERS, REDIS_URL

FANOUT_LAYER = os.environ.get("FANOUT_LAYER", "core")

if FANOUT_LAYER == "pubsub":
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [{"address": REDIS_URL}],
                "prefix": CHANNEL_LAYERS["default"]["CONFIG"]["prefix"],
            },
        }
    }
elif FANOUT_LAYER != "core":
    raise SystemExit(f"FANOUT_LAYER must be core or pubsub, not {FANOUT_LAYER!r}")
