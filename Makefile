# `make run` serves the whole API on the embedded default; `make test` runs the whole suite.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed
HOST ?= 127.0.0.1
PORT ?= 8000
# The Vercel AI SDK client the tests drive (tests/js), installed from its lock file when npm
# is there; without npm those tests skip, or fail when CI is set (tests/js_client/conftest.py).
JS_DIR := tests/js
JS_STAMP := $(JS_DIR)/node_modules/.installed
JS_SETUP := $(if $(shell command -v npm 2>/dev/null),$(JS_STAMP))

.PHONY: setup run test lint format bench clean

$(STAMP): requirements.txt
	@if [ ! -x "$(PY)" ] || ! "$(PY)" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)'; then \
		interp=$$(scripts/find-python.sh) || exit 1; \
		echo "creating $(VENV) with $$interp"; \
		rm -rf "$(VENV)"; "$$interp" -m venv "$(VENV)"; \
	fi
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $(STAMP)

setup: $(STAMP)

$(JS_STAMP): $(JS_DIR)/package-lock.json $(JS_DIR)/package.json
	cd $(JS_DIR) && npm ci --no-audit --no-fund
	@touch $@

# The task worker (media analysis) runs beside the server. Ctrl-C stops the server; then,
# or whenever the server stops, the worker gets one SIGTERM: it finishes the task in hand
# and exits, and make returns when both are gone.
run: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --bind $(HOST)
	@$(PY) manage.py media_worker --no-reload --own-process-group & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker' EXIT; \
	trap 'exit 130' INT TERM; \
	$(PY) -m config.serve_uvicorn -b $(HOST) -p $(PORT) config.asgi:application

test: setup $(JS_SETUP)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py makemigrations --check --dry-run

format: setup
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# The serving benchmark (bench/README.md): wrk drives each ASGI server; Debian's wrk package
# is installed when missing (needs apt-get and root, as on the project's machines).
bench: setup
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	$(PY) bench/serving.py $(BENCH_ARGS)
	$(PY) bench/sse_relay.py $(SSE_BENCH_ARGS)
	@if [ -n "$$REDIS_URL" ]; then $(PY) bench/fanout.py $(FANOUT_BENCH_ARGS); \
	else echo "bench/fanout.py skipped: socket fan-out across processes needs REDIS_URL"; fi

clean:
	rm -rf $(VENV) .local .pytest_cache .ruff_cache $(JS_DIR)/node_modules
