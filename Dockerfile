# The Airflow image of docker-compose.yaml: the official image plus the project's runtime requirements and the
# tenant_integrity package, installed once at build time (not at every container start as
# _PIP_ADDITIONAL_REQUIREMENTS would), with requirements.lock as constraints: the exact tested versions.
# The tag must match apache-airflow==… in requirements.txt (tests/dags/test_docker_compose.py checks it).
FROM apache/airflow:3.3.2-python3.11

# mysqlclient builds against these when the image's wheel is not the pinned version
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc pkg-config libmariadb-dev \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/*
USER airflow

# runtime + the CeleryExecutor's packages (the image serves both executors); never the tests' tools
# (requirements-dev.txt). apache-airflow is pinned in both lists, so pip cannot up- or downgrade the image's Airflow.
COPY requirements.txt requirements-celery.txt requirements.lock /tmp/requirements/
RUN pip install --no-cache-dir -r /tmp/requirements/requirements.txt -r /tmp/requirements/requirements-celery.txt \
    -c /tmp/requirements/requirements.lock

# the package itself (its SQL, GX suites and templates are package data; its plugin registers by entry point).
# docker-compose.yaml still mounts ./plugins first on PYTHONPATH for development: the mounted copy wins, and the
# plugins folder file then stands aside for the installed entry point (tenant_integrity_plugin.py).
COPY --chown=airflow:0 pyproject.toml /tmp/tenant_integrity/
COPY --chown=airflow:0 plugins/tenant_integrity /tmp/tenant_integrity/plugins/tenant_integrity
COPY --chown=airflow:0 include /tmp/tenant_integrity/include
COPY --chown=airflow:0 expectations /tmp/tenant_integrity/expectations
RUN pip install --no-cache-dir /tmp/tenant_integrity -c /tmp/requirements/requirements.lock \
 && rm -rf /tmp/tenant_integrity
