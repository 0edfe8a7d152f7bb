# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1
DATA_DIR ?= $(CURDIR)/var
export PORT HOST DATA_DIR

.PHONY: run test fuzz lint typecheck install install-dev migrate seed bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

## make run: web + Celery worker + beat on SQLite and the filesystem broker (Ctrl-C stops all)
run: seed
	@echo ""
	@echo "  Admin:  http://$(HOST):$(PORT)/admin/   (logins above)"
	@echo "  Ready:  http://$(HOST):$(PORT)/readyz"
	@echo ""
	$(BIN)/honcho -f Procfile.dev start -p $(PORT) 2>&1 || true

## make test: ruff, mypy, then the whole pytest suite (uses DATABASE_URL / CELERY_BROKER_URL if set)
test: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## make fuzz: the fuzz tests only, with many more examples (FUZZ_MAX_EXAMPLES per property,
## default 2000; fresh random inputs each run, HYPOTHESIS_PROFILE=ci for the fixed CI set)
FUZZ_MAX_EXAMPLES ?= 2000
HYPOTHESIS_PROFILE ?= fuzz
fuzz: install-dev
	FUZZ_MAX_EXAMPLES=$(FUZZ_MAX_EXAMPLES) HYPOTHESIS_PROFILE=$(HYPOTHESIS_PROFILE) \
		$(BIN)/python -m pytest -m fuzz tests/fuzz $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .

## make typecheck: mypy with django-stubs and djangorestframework-stubs on the project's
## packages (also run by `make test`; strictness in pyproject.toml [tool.mypy])
typecheck: install-dev
	$(BIN)/mypy

## make bench: every benchmark on PostgreSQL + Redis and the embedded default; rewrites docs/performance.md
bench: install-dev
	$(BIN)/python bench/report.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var
