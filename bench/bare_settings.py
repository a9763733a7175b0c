"""Settings of the baseline process: the project's, served the way stock Django serves.

No middleware, the bare views' URLconf (bench/bare.py), and on PostgreSQL Django's own
connection pool with psycopg_pool's defaults (`OPTIONS: {"pool": True}`) instead of the
project's sized pool: the baseline issue 21 names. Everything else (installed apps, the
database, the time zone) is the project's, so the views run the same queries on the same data.
"""

from config.settings.base import *  # noqa: F403
from config.settings.base import DATABASES

MIDDLEWARE = []
ROOT_URLCONF = "bench.bare"

if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"]["OPTIONS"] = {**DATABASES["default"]["OPTIONS"], "pool": True}
