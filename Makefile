# Two commands run everything (README.md):
#   make run   - embedded PostgreSQL, demo data, the worker and the server on http://127.0.0.1:8000
#   make test  - the test suite on PostgreSQL: TEST_DATABASE_URL if given, else the embedded one
# Neither needs anything but Python 3.11 and make: the embedded PostgreSQL
# (config/embedded_db.py) comes from a pip wheel, its data in .pgdata/.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TEST_DATABASE_URL ?=
BENCH_DATABASE_URL ?=
# An empty URL means "the embedded PostgreSQL": settings start it when DATABASE_URL is unset.
db_env = $(if $(1),DATABASE_URL=$(1),-u DATABASE_URL)

.PHONY: run test lint venv bench check clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

run: venv
	env DEBUG=true $(PY) manage.py migrate --noinput
	env DEBUG=true $(PY) manage.py seed_demo
	@# The worker (mail, reminders, waitlist offers, webhooks; mail printed here) beside the server,
	@# both stopped together by Ctrl-C.
	env DEBUG=true $(PY) manage.py procrastinate worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	env DEBUG=true $(PY) manage.py runserver 127.0.0.1:8000

test: venv
	env $(call db_env,$(TEST_DATABASE_URL)) SECRET_KEY=test-only-not-secret DEBUG=false SECURE_SSL_REDIRECT=false \
		$(PY) -m pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: venv
	BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) -m bench.build
	BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) -m bench.run

check: venv
	env DEBUG=true $(PY) manage.py makemigrations --check --dry-run

clean:
	-test -x $(PY) && $(PY) -m config.embedded_db stop
	rm -rf $(VENV) .pgdata .pytest_cache .hypothesis .ruff_cache
