# `make run` serves the whole API on the embedded default; `make test` runs the whole suite.
VENV ?= .venv
PY := $(VENV)/bin/python
# Two pinned files: requirements.txt, what the server runs on (`make run` installs only it),
# and requirements-dev.txt, that plus the test, lint and bench tools. One stamp each, so
# `make run` after `make test` installs nothing and `make test` after `make run` adds only
# the tools. scripts/install-requirements.sh makes the venv when needed and installs with
# uv (pinned, from the package index) or, failing that, pip; INSTALLER=pip forces pip.
RUN_STAMP := $(VENV)/.installed-requirements
DEV_STAMP := $(VENV)/.installed-requirements-dev
HOST ?= 127.0.0.1
PORT ?= 8000
# The Vercel AI SDK client the tests drive (tests/js), installed from its lock file when npm
# is there; without npm those tests skip, or fail when CI is set (tests/js_client/conftest.py).
JS_DIR := tests/js
JS_STAMP := $(JS_DIR)/node_modules/.installed
JS_SETUP := $(if $(shell command -v npm 2>/dev/null),$(JS_STAMP))
# The server's environment: glibc's allocator with two arenas and no per-thread cache, which
# glibc reads only at process start. On its defaults each request thread kept freed memory
# mapped, and resident memory grew 6-7 % from the 1,000th to the 10,000th SSE stream; with
# these 2-2.5 %, no slower (bench/README.md). A value already in the environment is kept.
SERVE_ENV := MALLOC_ARENA_MAX=$${MALLOC_ARENA_MAX-2} \
	GLIBC_TUNABLES=$${GLIBC_TUNABLES-glibc.malloc.tcache_count=0}

.PHONY: setup setup-dev run test lint format bench clean

$(RUN_STAMP): requirements.txt scripts/install-requirements.sh
	@scripts/install-requirements.sh $(VENV) requirements.txt
	@touch $@

# requirements-dev.txt starts with `-r requirements.txt`: both stamps hold afterwards.
$(DEV_STAMP): requirements.txt requirements-dev.txt scripts/install-requirements.sh
	@scripts/install-requirements.sh --compile $(VENV) requirements-dev.txt
	@touch $@ $(RUN_STAMP)

setup: $(RUN_STAMP)

setup-dev: $(DEV_STAMP)

$(JS_STAMP): $(JS_DIR)/package-lock.json $(JS_DIR)/package.json
	cd $(JS_DIR) && npm ci --no-audit --no-fund
	@touch $@

# The task worker (media analysis) runs beside the server. Ctrl-C stops the server; then,
# or whenever the server stops, the worker gets one SIGTERM: it finishes the task in hand
# and exits, and make returns when both are gone. seed_demo --migrate applies the migrations
# and then the demo data in one process (one Django start-up less before the first answer),
# and writes the bytecode cache (.pyc) even where PYTHONDONTWRITEBYTECODE is set: the runtime
# install writes none, and without it the processes after it would each compile Django,
# openai's types and the rest again (about 2 s each here).
run: setup
	PYTHONDONTWRITEBYTECODE= $(PY) manage.py seed_demo --migrate --bind $(HOST)
	@$(PY) manage.py media_worker --no-reload --own-process-group & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker' EXIT; \
	trap 'exit 130' INT TERM; \
	$(SERVE_ENV) $(PY) -m config.serve_uvicorn -b $(HOST) -p $(PORT) config.asgi:application

test: setup-dev $(JS_SETUP)
	$(PY) -m pytest $(PYTEST_ARGS)

# lint-imports checks the import layers (pyproject.toml, [tool.importlinter]); `make test`
# runs the same contracts in tests/test_architecture.py.
lint: setup-dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py makemigrations --check --dry-run

format: setup-dev
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# The serving benchmark (bench/README.md): wrk drives the production entry point against stock
# Django; Debian's wrk package is installed when missing (needs apt-get and root, as on the
# project's machines). SQLite always; with DATABASE_URL (a scratch database: it is migrated and
# seeded) PostgreSQL too, and with REDIS_URL as well PostgreSQL + Redis, as production runs:
#   make bench DATABASE_URL=postgres://postgres@127.0.0.1:5432/aistory_bench \
#     REDIS_URL=redis://127.0.0.1:6379/3 SECRET_KEY=bench-only
bench: setup-dev
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	$(PY) bench/serving.py $(BENCH_ARGS)
	$(PY) bench/sse_relay.py $(SSE_BENCH_ARGS)
	@if [ -n "$$REDIS_URL" ]; then $(PY) bench/fanout.py $(FANOUT_BENCH_ARGS); \
	else echo "bench/fanout.py skipped: socket fan-out across processes needs REDIS_URL"; fi

clean:
	rm -rf $(VENV) .local .pytest_cache .ruff_cache $(JS_DIR)/node_modules
