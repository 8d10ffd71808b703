# The Airflow image of docker-compose.yaml: the official image plus the project's runtime requirements, installed
# once at build time (not at every container start as _PIP_ADDITIONAL_REQUIREMENTS would).
# The tag must match apache-airflow==… in requirements.txt (tests/dags/test_docker_compose.py checks it).
FROM apache/airflow:3.3.2-python3.11

# mysqlclient builds against these when the image's wheel is not the pinned version
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc pkg-config libmariadb-dev \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/*
USER airflow

# requirements.txt without its "# test and tooling" part (pytest, ruff, playwright, …); apache-airflow stays
# pinned in the list, so pip cannot up- or downgrade the image's Airflow
COPY requirements.txt /tmp/requirements.txt
RUN sed '/^# test and tooling/,$d' /tmp/requirements.txt > /tmp/requirements-runtime.txt \
 && pip install --no-cache-dir -r /tmp/requirements-runtime.txt
