"""`python -m tests.serve_workers [OPTIONS]`: `python -m config.serve_uvicorn --workers 2`,
as tests/live.py's LiveServer starts a server module, for the live tests of a server of
several processes (tests/test_graceful_restart.py)."""

import sys

from config.serve_uvicorn import main

if __name__ == "__main__":
    main(["--workers", "2", *sys.argv[1:]])
