"""docker-compose.yaml and Dockerfile checked against the project (Docker itself does not run here).

Every mounted host path exists, the environment the DAGs read is set and points at services that exist, the
container layout matches what tenant_integrity.core.paths derives, the demo database is loaded in the loader's order,
the image pins the Airflow of requirements.txt, and every DAG the compose file's comments name exists in dags/.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from tenant_integrity.cli import demo

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yaml"
CELERY_SERVICES = {"redis": ["celery"], "airflow-worker": ["celery"], "flower": ["flower"]}  # service -> profiles
CELERY = {"AIRFLOW_EXECUTOR": "CeleryExecutor"}  # what the header's Celery commands set
REQUIRED_SERVICES = {
    "postgres",
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "tenant-db",
    "mailpit",
}
# the Airflow components that parse or run the DAGs, and the environment they read
RUNNING_SERVICES = {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"}
REQUIRED_ENV = {
    "AIRFLOW_CONN_TENANT_DB",
    "AIRFLOW_CONN_SMTP_DEFAULT",
    "AIRFLOW_VAR_ON_CALL_EMAIL",
    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
    "TENANT_REVIEW_DIR",
}
DEV_TOOLS = {"pytest", "pytest-xdist", "hypothesis", "aiosmtpd", "playwright", "ruff", "moto", "uv"}


def interpolate(value, variables: dict | None = None):
    """Compose's variable substitution with `variables` set (default: nothing): ${X:-default} -> default, ${X} -> '',
    $$ -> $."""
    if not isinstance(value, str):
        return value
    variables = variables or {}
    value = re.sub(r"(?<!\$)\$\{(\w+)(?::?-([^}]*))?\}", lambda m: variables.get(m.group(1)) or m.group(2) or "", value)
    return value.replace("$$", "$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def environment(service: dict, variables: dict | None = None) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: str(interpolate(v, variables)) for k, v in env.items()}


def volumes(service: dict) -> list[dict]:
    """Every volume entry in long form: type (bind|volume), source, target, read_only."""
    out = []
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            out.append({**entry, "read_only": bool(entry.get("read_only"))})
            continue
        parts = interpolate(entry).split(":")
        source, target = parts[0], parts[1]
        kind = "bind" if source.startswith((".", "/", "~")) else "volume"
        out.append({"type": kind, "source": source, "target": target, "read_only": "ro" in parts[2:]})
    return out


def mount_of(service: dict, target: str) -> dict:
    found = [v for v in volumes(service) if v["target"] == target]
    assert len(found) == 1, f"{target} must be mounted once, got {found}"
    return found[0]


def dag_ids_in_dags_folder() -> set[str]:
    # every DAG file names its id first in @dag(**project_dag("<dag_id>", …))
    return {m for f in (ROOT / "dags").glob("*.py") for m in re.findall(r'project_dag\(\s*"(\w+)"', f.read_text())}


def requirement_pins(name: str = "requirements.txt") -> dict[str, str]:
    pins = {}
    for line in (ROOT / name).read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            pins[name.split("[", 1)[0].strip().lower()] = version.strip()  # moto[server]: the package moto
    return pins


def test_every_required_service_exists_and_runs_the_official_layout(services):
    assert set(services) >= REQUIRED_SERVICES
    commands = {name: services[name].get("command") for name in RUNNING_SERVICES}
    assert commands == {
        "airflow-apiserver": "api-server",
        "airflow-scheduler": "scheduler",
        "airflow-dag-processor": "dag-processor",
        "airflow-triggerer": "triggerer",
    }
    for name in RUNNING_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["airflow-init"]["condition"] == "service_completed_successfully", name
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["tenant-db"]["condition"] == "service_healthy", name
        assert "healthcheck" in services[name], name
    for name in ("postgres", "tenant-db"):
        assert "healthcheck" in services[name], name


def test_local_executor_on_the_postgres_metadata_database(services):
    for name in RUNNING_SERVICES | {"airflow-init"}:
        env = environment(services[name])
        assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor", name
        metadata = urlsplit(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        assert metadata.scheme.startswith("postgresql"), name
        assert metadata.hostname == "postgres", name
    postgres = environment(services["postgres"])
    assert metadata.path.lstrip("/") == postgres["POSTGRES_DB"]
    assert (metadata.username, metadata.password) == (postgres["POSTGRES_USER"], postgres["POSTGRES_PASSWORD"])
    assert services["postgres"]["image"].startswith("postgres:")


def test_the_environment_the_dags_read_is_set_in_every_airflow_service(services):
    code = "\n".join(
        p.read_text() for p in [*(ROOT / "plugins" / "tenant_integrity").rglob("*.py"), *(ROOT / "dags").glob("*.py")]
    )
    read_by_code = set(re.findall(r"os\.environ(?:\.get\(|\[)\"(TENANT_\w+)\"", code))
    assert "TENANT_REVIEW_DIR" in read_by_code  # the scan finds what it should
    for name in RUNNING_SERVICES | {"airflow-init"}:
        env = environment(services[name])
        missing = (REQUIRED_ENV | read_by_code) - {k for k, v in env.items() if v}
        assert not missing, f"{name} lacks {sorted(missing)}"
        assert "_PIP_ADDITIONAL_REQUIREMENTS" not in env, "requirements belong in the image (Dockerfile)"
        # components share these, or the API server rejects the tokens the scheduler issues to tasks
        assert env.get("AIRFLOW__API_AUTH__JWT_SECRET"), name
        assert env.get("AIRFLOW__API__SECRET_KEY"), name


def test_connections_point_at_the_services_that_serve_them(services):
    env = environment(services["airflow-scheduler"])

    tenant_db = urlsplit(env["AIRFLOW_CONN_TENANT_DB"])
    mysql = environment(services[tenant_db.hostname])
    assert tenant_db.scheme == "mysql"
    assert tenant_db.port == 3306
    assert tenant_db.path.lstrip("/") == mysql["MYSQL_DATABASE"]
    assert (tenant_db.username, tenant_db.password) == (mysql["MYSQL_USER"], mysql["MYSQL_PASSWORD"])

    smtp = urlsplit(env["AIRFLOW_CONN_SMTP_DEFAULT"])
    assert smtp.scheme == "smtp"
    assert (smtp.hostname, smtp.port) == ("mailpit", 1025)
    extras = parse_qs(smtp.query)
    assert extras["disable_tls"] == ["true"] and extras["disable_ssl"] == ["true"]
    assert re.fullmatch(r"[^@\s]+@[^@\s]+", extras["from_email"][0])
    assert re.fullmatch(r"[^@\s,;]+@[^@\s,;]+", env["AIRFLOW_VAR_ON_CALL_EMAIL"])
    assert any(str(p).endswith(":8025") for p in services["mailpit"]["ports"]), "Mailpit's inbox is published"

    execution_api = urlsplit(env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert execution_api.hostname == "airflow-apiserver"
    assert execution_api.path == "/execution/"
    published = [str(p).rsplit(":", 1)[-1] for p in services["airflow-apiserver"]["ports"]]
    assert str(execution_api.port or 80) in published


def test_every_mounted_host_path_exists_and_every_named_volume_is_declared(compose, services):
    declared = set(compose.get("volumes") or {})
    for name, service in services.items():
        for volume in volumes(service):
            if volume["type"] == "bind":
                assert (ROOT / volume["source"]).exists(), f"{name}: {volume['source']} does not exist"
            else:
                assert volume["source"] in declared, f"{name}: volume {volume['source']} is not declared"


def test_the_container_layout_is_the_one_the_package_derives(services):
    for name in RUNNING_SERVICES | {"airflow-init"}:
        service, env = services[name], environment(services[name])
        assert mount_of(service, env["AIRFLOW__CORE__DAGS_FOLDER"])["source"] == "./dags", name
        plugins = PurePosixPath(env["AIRFLOW__CORE__PLUGINS_FOLDER"])
        assert mount_of(service, str(plugins))["source"] == "./plugins", name
        assert str(plugins) in env["PYTHONPATH"].split(":"), name
        # tenant_integrity.core.paths: PROJECT_ROOT is the parent of plugins/, include/ and expectations/ sit next to it
        for folder in ("include", "expectations"):
            assert mount_of(service, str(plugins.parent / folder))["source"] == f"./{folder}", (name, folder)
        assert PurePosixPath(env["TENANT_SPECS_DIR"]).is_relative_to(plugins.parent / "include"), name
        for writable in ("TENANT_REVIEW_DIR", "TENANT_DATA_DOCS_DIR"):
            assert not mount_of(service, env[writable])["read_only"], (name, writable)


def test_the_demo_database_is_loaded_on_first_start_in_the_loaders_order(services):
    mysql = services["tenant-db"]
    assert re.fullmatch(r"mysql:8(\.\d+)*", mysql["image"]), mysql["image"]
    init = sorted(
        (v for v in volumes(mysql) if v["target"].startswith("/docker-entrypoint-initdb.d/")),
        key=lambda v: v["target"],
    )
    assert [Path(v["source"]).parent for v in init] == [Path("include/demo")] * len(init)
    assert [Path(v["source"]).stem for v in init] == demo.DATA_SETS["all"]
    assert all(v["target"].endswith(".sql") and v["read_only"] for v in init)
    assert mount_of(mysql, "/var/lib/mysql")["type"] == "volume"  # the first start only: data survives restarts


def test_the_image_pins_the_airflow_and_python_of_the_project(compose, services):
    airflow_pin = requirement_pins()["apache-airflow"]
    python = re.search(r'requires-python = "==(\d+\.\d+)', (ROOT / "pyproject.toml").read_text()).group(1)
    dockerfile = (ROOT / "Dockerfile").read_text()
    base = re.search(r"^FROM\s+(\S+)", dockerfile, re.MULTILINE).group(1)
    assert base == f"apache/airflow:{airflow_pin}-python{python}"
    common = compose["x-airflow-common"]
    assert interpolate(common["build"]) in (".", "./")
    assert interpolate(common["image"]).endswith(f":{airflow_pin}-python{python}")
    for name in RUNNING_SERVICES | {"airflow-init"}:
        assert services[name]["image"] == common["image"], name


def test_the_image_installs_the_runtime_requirements_and_the_package_without_the_dev_tools():
    dockerfile = (ROOT / "Dockerfile").read_text()
    # runtime + Celery, with the lock as constraints; then the package, with the lock again
    copied = "COPY requirements.txt requirements-celery.txt requirements.lock /tmp/requirements/"
    assert copied in dockerfile
    assert (
        "pip install --no-cache-dir -r /tmp/requirements/requirements.txt -r /tmp/requirements/requirements-celery.txt"
        " \\\n    -c /tmp/requirements/requirements.lock"
    ) in dockerfile
    assert "pip install --no-cache-dir /tmp/tenant_integrity -c /tmp/requirements/requirements.lock" in dockerfile
    assert "requirements-dev.txt" not in dockerfile.split(copied, 1)[1]
    runtime, celery = set(requirement_pins()), set(requirement_pins("requirements-celery.txt"))
    assert set(requirement_pins("requirements-dev.txt")) == DEV_TOOLS
    assert not (runtime | celery) & DEV_TOOLS
    assert {"apache-airflow", "apache-airflow-providers-mysql", "great-expectations", "mysqlclient"} <= runtime
    # the build context holds what pyproject.toml packages
    for source in ("pyproject.toml", "plugins/tenant_integrity", "include", "expectations"):
        assert f"COPY --chown=airflow:0 {source} /tmp/tenant_integrity/" in dockerfile, source


def test_the_init_script_is_valid_bash_and_checks_the_dags(services):
    init = services["airflow-init"]
    assert init["entrypoint"] == "/bin/bash"
    script = interpolate(init["command"][1])
    assert "DagBag" in script and "import_errors" in script
    assert environment(init)["_AIRFLOW_DB_MIGRATE"] == "true"
    bash = shutil.which("bash")
    done = subprocess.run([bash, "-n"], input=script, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_every_dag_the_compose_docs_mention_exists():
    comments = "\n".join(line for line in COMPOSE_FILE.read_text().splitlines() if line.lstrip().startswith("#"))
    mentioned = set(re.findall(r"airflow dags \w+ (\w+)", comments))
    dags_line = re.search(r"^#\s*DAGs:(.*(?:\n#\s{2,}.*)*)", comments, re.MULTILINE)
    assert dags_line, "the header lists the DAGs"
    mentioned |= {m for m in re.findall(r"\b(tenant_\w+) \(", dags_line.group(1))}
    assert mentioned >= {"tenant_backfill", "tenant_validation_daily"}
    assert mentioned <= dag_ids_in_dags_folder(), sorted(mentioned - dag_ids_in_dags_folder())


def test_the_celery_profile_runs_redis_and_scalable_workers_only_when_asked(services):
    assert {name: services[name].get("profiles") for name in CELERY_SERVICES} == CELERY_SERVICES
    # a plain `docker compose up` never needs a service of a profile
    for name, service in services.items():
        if not service.get("profiles"):
            assert not set(service.get("depends_on") or {}) & set(CELERY_SERVICES), name
    redis = services["redis"]
    assert redis["image"].startswith("redis:")
    assert "healthcheck" in redis and "ping" in redis["healthcheck"]["test"]
    worker = services["airflow-worker"]
    assert worker["command"] == "celery worker"
    # --scale airflow-worker=N: no fixed container name, no host port two workers would fight over
    assert "container_name" not in worker and "ports" not in worker
    ping = interpolate(worker["healthcheck"]["test"][-1])
    assert "inspect ping" in ping and "celery@${HOSTNAME}" in ping
    depends = worker["depends_on"]
    assert depends["redis"]["condition"] == "service_healthy"
    assert depends["airflow-apiserver"]["condition"] == "service_healthy"  # the tasks call its execution API
    assert depends["airflow-init"]["condition"] == "service_completed_successfully"
    assert {depends[name]["condition"] for name in ("postgres", "tenant-db")} == {"service_healthy"}
    flower = services["flower"]
    assert flower["command"] == "celery flower"
    assert flower["depends_on"]["redis"]["condition"] == "service_healthy"
    assert any(str(p).endswith(":5555") for p in flower["ports"])


def test_the_worker_runs_the_tasks_with_what_the_scheduler_has(compose, services):
    worker, scheduler = services["airflow-worker"], services["airflow-scheduler"]
    assert worker["image"] == compose["x-airflow-common"]["image"]
    assert volumes(worker) == volumes(scheduler)
    assert worker.get("user") == scheduler.get("user")
    worker_env, scheduler_env = environment(worker, CELERY), environment(scheduler, CELERY)
    own = {"AIRFLOW__CORE__EXECUTOR", "AIRFLOW__CELERY__WORKER_CONCURRENCY", "DUMB_INIT_SETSID"}
    assert {k: v for k, v in worker_env.items() if k not in own} == {
        k: v for k, v in scheduler_env.items() if k not in own
    }
    assert worker_env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"  # whatever AIRFLOW_EXECUTOR says
    assert environment(worker)["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert int(worker_env["AIRFLOW__CELERY__WORKER_CONCURRENCY"]) >= 1
    assert worker_env["DUMB_INIT_SETSID"] == "0"  # warm shutdown: running tasks finish


def test_airflow_executor_switches_every_component_to_celery_on_the_profiles_services(services):
    for name in RUNNING_SERVICES | {"airflow-init", "airflow-worker", "flower"}:
        env = environment(services[name], CELERY)
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        broker = urlsplit(env["AIRFLOW__CELERY__BROKER_URL"])
        assert (broker.scheme, broker.hostname, broker.port) == ("redis", "redis", 6379), name
        assert 6379 in services["redis"]["expose"]
        # the result backend is the metadata database, through a driver the image has (psycopg2)
        backend = urlsplit(env["AIRFLOW__CELERY__RESULT_BACKEND"])
        metadata = urlsplit(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        assert backend.scheme == "db+postgresql+psycopg2", name
        assert backend.netloc == metadata.netloc and backend.path == metadata.path, name
    pins = requirement_pins("requirements-celery.txt")
    assert {"apache-airflow-providers-celery", "celery", "redis", "psycopg2-binary", "asyncpg"} <= set(pins)


def test_the_init_creates_the_writer_pool_the_backfill_uses(services):
    from tenant_integrity.core import settings

    script = interpolate(services["airflow-init"]["command"][1])
    assert f"airflow pools set {settings.writer_pool('tenant_db')} {settings.WRITER_POOL_SLOTS} " in script


def test_the_header_says_how_to_run_the_celery_profile():
    header = COMPOSE_FILE.read_text().split("\nx-airflow-common", 1)[0]
    assert "AIRFLOW_EXECUTOR=CeleryExecutor docker compose --profile celery up -d --scale airflow-worker=" in header
    assert "--profile flower" in header
    assert "When you need the Celery executor" in header
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "When you need the Celery executor" in readme
