# tenant_integrity — `make demo` and `make test` are the whole quick start.
SHELL := /bin/bash
ROOT := $(CURDIR)
VENV := $(ROOT)/.venv/bin
export AIRFLOW_HOME ?= $(ROOT)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(ROOT)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(ROOT)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export TENANT_REVIEW_DIR ?= $(ROOT)/review
DEMO_DB_URL ?= mysql://root@127.0.0.1:3306/tenant_demo

.PHONY: setup demo test lint format lock clean bench

setup:
	@./scripts/setup.sh

demo: setup
	@AIRFLOW_CONN_TENANT_DB=$(DEMO_DB_URL) ./scripts/demo.sh

.PHONY: airflow
airflow: setup  # Airflow 3 (UI, scheduler, …) on the demo database; port AIRFLOW_PORT (8080); prints the login
	@AIRFLOW_CONN_TENANT_DB=$${AIRFLOW_CONN_TENANT_DB:-$(DEMO_DB_URL)} ./scripts/airflow_local.sh

test: setup
	@./scripts/run_tests.sh

bench: setup  # BENCH_CUSTOMERS (default 1000000): seed one-shot statement vs our pipeline -> benchmarks/latest.json
	@.venv/bin/python benchmarks/bench.py

lint: setup
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .

format: setup
	$(VENV)/ruff format .
	$(VENV)/ruff check --fix .

lock: setup
	@(echo "# Full constraints: every package of the working environment, exactly (pip freeze). Regenerate with: make lock"; \
	  $(VENV)/pip freeze --exclude-editable | grep -viE '^tenant[-_]integrity( |=|@|$$)') > requirements.lock  # never the package itself

clean:
	rm -rf .airflow review .pytest_cache
