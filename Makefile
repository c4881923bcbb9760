# Two commands run everything (README.md):
#   make run   - a local server on SQLite with demo data, API docs at /api/docs/
#   make test  - the test suite on PostgreSQL (TEST_DATABASE_URL)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/clinic
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/clinic_bench

.PHONY: run test lint venv bench check clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

run: venv
	DEBUG=true $(PY) manage.py migrate --noinput
	DEBUG=true $(PY) manage.py seed_demo
	DEBUG=true $(PY) manage.py runserver 127.0.0.1:8000

test: venv
	DATABASE_URL=$(TEST_DATABASE_URL) SECRET_KEY=test-only-not-secret DEBUG=false SECURE_SSL_REDIRECT=false \
		$(PY) -m pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: venv
	BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) -m bench.build
	BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) -m bench.run

check: venv
	DEBUG=true $(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) db.sqlite3 .pytest_cache .hypothesis
