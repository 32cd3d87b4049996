# Two commands for a newcomer: `make run` and `make test`. Everything they need is set up here.
SHELL := /bin/bash
PYTHON ?= python3.12
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test lint format messages check-services system-packages deploy-check clean help

help:
	@echo "make run    serve the portal with demo data on http://$(HOST):$(PORT)/"
	@echo "make test   lint, type-check and run every test against PostgreSQL and Redis"

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
	  DJANGO_SETTINGS_MODULE=refurb_portal.settings.dev $(BIN)/python manage.py compilemessages -v0 --ignore=.venv; fi

run: $(STAMP) messages
	@unset DJANGO_SETTINGS_MODULE; \
	$(BIN)/python manage.py migrate --no-input -v0 && \
	$(BIN)/python manage.py demo_data && \
	echo "" && \
	echo "  Refurb Portal: http://$(HOST):$(PORT)/" && \
	echo "  Manufacturer logins: acme / acme-demo-2026, globex / globex-demo-2026" && \
	echo "  Staff (admin at http://$(HOST):$(PORT)/admin/): staff / staff-demo-2026" && \
	echo "" && \
	exec $(BIN)/python manage.py runserver $(HOST):$(PORT)

# Debian packages the browser tests and the message catalogues need.
system-packages:
	@missing=""; command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v msgfmt >/dev/null || missing="$$missing gettext"; \
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

test: $(STAMP) system-packages messages check-services lint deploy-check
	$(BIN)/pytest

clean:
	rm -rf $(VENV) var
