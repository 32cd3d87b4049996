# Two commands for a newcomer: `make run` and `make test`. Everything they need is set up here.
SHELL := /bin/bash
PYTHON ?= python3.12
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
SCREENSHOTS := var/screenshots
AXE := node_modules/axe-core/axe.min.js
export PYTHONDONTWRITEBYTECODE := 1
# The browser tests drive Debian's chromium; Playwright must never download a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: run test lint format messages translations check-services system-packages deploy-check clean help \
	bench bench-smoke bench-tools

help:
	@echo "make run    serve the portal with demo data on http://$(HOST):$(PORT)/ (PORT=8001 for another port)"
	@echo "make test   lint, type-check and run every test against PostgreSQL and Redis"
	@echo "make bench  measure the portal beside PostgreSQL's and the machine's limits (bench/)"

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is needed (pyenv: see .python-version)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing Python packages into $(VENV) (log: $(VENV)/pip.log)"
	@{ $(BIN)/pip install --upgrade pip && $(BIN)/pip install -e ".[dev]"; } > $(VENV)/pip.log 2>&1 \
	  || { tail -40 $(VENV)/pip.log; exit 1; }
	@touch $(STAMP)

# Compiled message catalogues are built, never committed.
messages: $(STAMP)
	@command -v msgfmt >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq gettext >/dev/null; } || \
	  { echo "msgfmt is missing: install Debian's gettext"; exit 1; }
	@if ls locale/*/LC_MESSAGES/*.po >/dev/null 2>&1; then \
	  DJANGO_SETTINGS_MODULE=refurb_portal.settings.dev $(BIN)/python manage.py compilemessages -v0 \
	    --ignore=.venv --ignore=node_modules; fi

# After adding or changing a translatable string: refresh the Chinese catalogue, translate the
# new entries (and clear any "fuzzy" flag), then `make messages`. tests/test_i18n.py uses the same
# options to check that nothing is missing.
translations: $(STAMP)
	DJANGO_SETTINGS_MODULE=refurb_portal.settings.dev $(BIN)/python manage.py makemessages \
	  --locale=zh_Hans --add-location=file --ignore=.venv --ignore=node_modules --ignore=var -v0
	@echo "Now translate the new (empty) and fuzzy entries of locale/zh_Hans/LC_MESSAGES/django.po;"
	@echo "$(BIN)/pytest tests/test_i18n.py lists any left."

# axe-core for the accessibility checks, pinned in package-lock.json (test-only, not served).
$(AXE): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js and npm"; exit 1; }
	@npm ci --no-audit --no-fund --loglevel=error >/dev/null
	@touch $(AXE)

# With DATABASE_URL (the application's role) and DATABASE_OWNER_URL (the owner) on PostgreSQL,
# migrate runs as the owner and grants the application's role only what it needs (README).
run: $(STAMP) messages
	@unset DJANGO_SETTINGS_MODULE; \
	if [ -n "$$DATABASE_URL" ] && [ -z "$$DATABASE_OWNER_URL" ]; then \
	  echo "DATABASE_URL without DATABASE_OWNER_URL: the portal would run as the owner of its tables (README: two roles)"; fi; \
	$(BIN)/python manage.py migrate --no-input -v0 && \
	$(BIN)/python manage.py demo_data && \
	echo "" && \
	echo "  Refurb Portal: http://$(HOST):$(PORT)/" && \
	echo "  Manufacturer logins: acme / acme-demo-2026, globex / globex-demo-2026 (administrators)" && \
	echo "    Acme's planner and viewer: acme-planner, acme-viewer / acme-demo-2026" && \
	echo "  Staff (admin at http://$(HOST):$(PORT)/admin/): staff / staff-demo-2026" && \
	echo "    then the two-factor code printed by: $(BIN)/python manage.py demo_totp" && \
	echo "" && \
	exec $(BIN)/python manage.py runserver --insecure $(HOST):$(PORT)

# Debian packages the browser tests and the message catalogues need (a CJK font so that the
# Chinese screenshots show characters, not boxes).
system-packages:
	@missing=""; command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v msgfmt >/dev/null || missing="$$missing gettext"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	fc-list :lang=zh 2>/dev/null | grep -q . || missing="$$missing fonts-noto-cjk"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "Installing$$missing with apt"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "Missing system packages:$$missing (apt-get install -y$$missing as root)"; exit 1; fi; fi

check-services: $(STAMP)
	@$(BIN)/python tools/check_services.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DJANGO_SETTINGS_MODULE=refurb_portal.settings.test $(BIN)/mypy .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

deploy-check: $(STAMP)
	DJANGO_SETTINGS_MODULE=refurb_portal.settings.prod DJANGO_SECRET_KEY=$$($(BIN)/python -c "import secrets; print(secrets.token_urlsafe(50))") \
	DJANGO_ALLOWED_HOSTS=portal.example.com DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
	$(BIN)/python manage.py check --deploy --fail-level WARNING

# pytest runs beside its own SeaweedFS (free ports, a temporary folder, stopped afterwards even
# on failure): private storage is S3 for the whole run (tools/seaweedfs.py). It runs in
# TEST_WORKERS parallel processes (pytest-xdist; 0 runs in this one), each with its own test
# database, Redis keys, queue and storage prefix (refurb_portal/settings/test.py).
TEST_WORKERS ?= 2
test: $(STAMP) system-packages messages $(AXE) check-services lint deploy-check bench-smoke
	@mkdir -p var; status=0; \
	$(BIN)/python tools/seaweedfs.py -- $(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal || status=$$?; \
	echo "Screenshots of the browser tests: $(CURDIR)/$(SCREENSHOTS)/ ($$(ls $(SCREENSHOTS)/*.png 2>/dev/null | wc -l) files)"; \
	exit $$status

# Benchmarks (bench/): each script starts its own database, gunicorn and Celery worker on
# loopback and prints its figures beside the limit measured in the same run. BENCH_ARGS=--profile
# adds py-spy profiles. bench-smoke runs them with tiny sizes so that they never rot.
bench-tools:
	@missing=""; command -v wrk >/dev/null || missing="$$missing wrk"; \
	pgbench --version >/dev/null 2>&1 || missing="$$missing postgresql-contrib"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "Installing$$missing with apt"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "Missing system packages:$$missing (apt-get install -y$$missing as root)"; exit 1; fi; fi

bench: $(STAMP) bench-tools check-services
	$(BIN)/python -m bench.take_delivery $(BENCH_ARGS)
	$(BIN)/python -m bench.web $(BENCH_ARGS)
	$(BIN)/python -m bench.token_file $(BENCH_ARGS)
	$(BIN)/python -m bench.scale $(BENCH_ARGS)
	$(BIN)/python -m bench.exports $(BENCH_ARGS)
	$(BIN)/python -m bench.activity_export $(BENCH_ARGS)
	$(BIN)/python -m bench.targeted_list $(BENCH_ARGS)
	$(BIN)/python -m bench.token_lookup $(BENCH_ARGS)
	$(BIN)/python -m bench.report

bench-smoke: $(STAMP) bench-tools check-services
	@mkdir -p var; echo "Benchmarks at smoke sizes (figures in var/bench-smoke/)"
	@$(BIN)/python -m bench.take_delivery --smoke > var/bench-smoke.log 2>&1 && \
	$(BIN)/python -m bench.web --smoke >> var/bench-smoke.log 2>&1 && \
	$(BIN)/python -m bench.token_file --smoke >> var/bench-smoke.log 2>&1 && \
	$(BIN)/python -m bench.scale --smoke >> var/bench-smoke.log 2>&1 && \
	$(BIN)/python -m bench.exports --smoke >> var/bench-smoke.log 2>&1 && \
	$(BIN)/python -m bench.activity_export --smoke >> var/bench-smoke.log 2>&1 && \
	$(BIN)/python -m bench.targeted_list --smoke >> var/bench-smoke.log 2>&1 && \
	$(BIN)/python -m bench.token_lookup --smoke >> var/bench-smoke.log 2>&1 \
	  || { cat var/bench-smoke.log; exit 1; }

clean:
	rm -rf $(VENV) var node_modules
