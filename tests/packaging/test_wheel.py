"""The installable package (issue 25): a wheel built from the repository, installed into a fresh venv with the lock
as constraints, runs tenant_backfill from a DAGs folder outside the checkout.

The wheel must carry the package, its SQL, GX suites, templates, demo data and registry; installed, the package
reads them from site-packages (importlib.resources), the specs from TENANT_SPECS_DIR, and writes review/ under
AIRFLOW_HOME. Airflow must load the plugin from the wheel's entry point, with no plugins folder and nothing of the
checkout on the path.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import PROJECT, url_of
from tests.helpers.airflow import final_state
from tests.helpers.dbcheck import active_distribution, query

pytestmark = pytest.mark.e2e

# what the Dockerfile copies to build the package: the build reads nothing else
SOURCES = ("pyproject.toml", "plugins/tenant_integrity", "include", "expectations")
PACKAGE = PROJECT / "plugins" / "tenant_integrity"


def run(command: list[str], env: dict | None = None, cwd: Path | None = None, timeout: int = 600):
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)


def expected_files() -> set[str]:
    """The wheel's paths of the files the package needs, from the repository's folders."""
    shipped = {
        **{f"tenant_integrity/{p.relative_to(PACKAGE).as_posix()}": p for p in PACKAGE.rglob("*.py")},
        **{f"tenant_integrity/{p.relative_to(PACKAGE).as_posix()}": p for p in PACKAGE.glob("ui/templates/**/*.html")},
        **{
            f"tenant_integrity/_include/{p.relative_to(PROJECT / 'include').as_posix()}": p
            for p in (PROJECT / "include").glob("sql/**/*.sql")
        },
        **{f"tenant_integrity/_include/demo/{p.name}": p for p in (PROJECT / "include" / "demo").glob("*.sql")},
        "tenant_integrity/_include/registry.yaml": PROJECT / "include" / "registry.yaml",
        **{f"tenant_integrity/_expectations/{p.name}": p for p in (PROJECT / "expectations").glob("*.json")},
    }
    return set(shipped)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """`pip wheel --no-deps` of a copy of the sources (an in-tree build writes build/ and *.egg-info beside them)."""
    work = tmp_path_factory.mktemp("wheel")
    for name in SOURCES:
        source, copy = PROJECT / name, work / "src" / name
        if source.is_dir():
            shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy)
    done = run([sys.executable, "-m", "pip", "wheel", str(work / "src"), "--no-deps", "-w", str(work / "dist")])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (built,) = (work / "dist").glob("tenant_integrity-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh venv with the wheel and its dependencies at the lock's versions, resolved from the wheel's own
    requirements as docs/install.md's `pip install dist/….whl -c requirements.lock` does.

    The resolver is uv's (make setup's installer, from its cache in seconds; pip took 2-3 of this module's minutes
    installing and compiling all of Airflow and GX): what is tested is the wheel, its metadata and its files.
    """
    folder = tmp_path_factory.mktemp("venv") / "venv"
    made = run([sys.executable, "-m", "venv", str(folder)])
    assert made.returncode == 0, made.stderr
    uv = [str(PROJECT / ".venv" / "bin" / "uv"), "pip", "install", "-q", "--python", str(folder / "bin" / "python")]
    done = run([*uv, str(wheel), "-c", str(PROJECT / "requirements.lock")], timeout=1800)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return folder


@pytest.fixture
def site(tmp_path) -> Path:
    """An Airflow site outside the checkout: copies of the DAG files and of the specs, an empty AIRFLOW_HOME."""
    shutil.copytree(PROJECT / "dags", tmp_path / "dags", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copytree(PROJECT / "include" / "specs", tmp_path / "specs")
    (tmp_path / "airflow_home").mkdir()
    return tmp_path


def site_env(venv: Path, site: Path, **extra: str) -> dict:
    """Only what an installation sets: no plugins folder, nothing of the checkout on the path."""
    return {
        "PATH": f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(site),
        "PYTHONPATH": "",
        "AIRFLOW_HOME": str(site / "airflow_home"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(site / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "TENANT_SPECS_DIR": str(site / "specs"),
        **extra,
    }


def test_the_wheel_carries_the_package_its_sql_suites_templates_and_demo_data(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = {n for n in archive.namelist() if not n.startswith("tenant_integrity-")}
        assert (
            archive.read("tenant_integrity/_include/sql/server_version.sql")
            == (PROJECT / "include" / "sql" / "server_version.sql").read_bytes()
        )
        entry_points = archive.read(next(n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")))
    assert names == expected_files(), (sorted(expected_files() - names)[:20], sorted(names - expected_files())[:20])
    assert len([n for n in names if n.startswith("tenant_integrity/_include/sql/") and n.endswith(".sql")]) == len(
        list((PROJECT / "include" / "sql").rglob("*.sql"))
    )
    assert not [n for n in names if "/specs/" in n]  # the specs are the user's (TENANT_SPECS_DIR)
    assert "tenant_integrity = tenant_integrity.plugin:TenantIntegrityPlugin" in entry_points.decode()
    assert "provider_info = tenant_integrity.provider:get_provider_info" in entry_points.decode()


def test_installed_the_package_reads_its_files_from_site_packages(venv, site):
    probe = (
        "import json; from tenant_integrity.core import paths; from tenant_integrity.store import sql;"
        "print(json.dumps({'installed': paths.INSTALLED, 'module': paths.__file__, 'sql': str(paths.SQL_DIR),"
        " 'suites': str(paths.EXPECTATIONS_DIR), 'specs': str(paths.SPECS_DIR), 'root': str(paths.PROJECT_ROOT),"
        " 'rendered': sql.render('server_version.sql').splitlines()[-1]}))"
    )
    done = run([str(venv / "bin" / "python"), "-c", probe], env=site_env(venv, site), cwd=site)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    site_packages = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    assert found["installed"] is True
    assert Path(found["module"]) == site_packages / "tenant_integrity" / "core" / "paths.py"
    assert Path(found["sql"]) == site_packages / "tenant_integrity" / "_include" / "sql"
    assert Path(found["suites"]) == site_packages / "tenant_integrity" / "_expectations"
    assert Path(found["specs"]) == site / "specs"
    assert Path(found["root"]) == site / "airflow_home"
    assert found["rendered"] == "select version() as version"

    # no TENANT_SPECS_DIR and no $AIRFLOW_HOME/include/specs: the error names the variable
    env = {k: v for k, v in site_env(venv, site).items() if k != "TENANT_SPECS_DIR"}
    done = run(
        [str(venv / "bin" / "python"), "-c", "from tenant_integrity.core.spec import spec_names; spec_names()"],
        env=env,
        cwd=site,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        f"tenant_integrity.core.errors.TenantIntegrityError: no spec folder {site / 'airflow_home' / 'include' / 'specs'}:"
        " set TENANT_SPECS_DIR to the folder of your specs (one <name>.yaml per table)"
    )


def test_the_backfill_runs_from_the_installed_wheel(venv, site, seed_db):
    env = site_env(venv, site, AIRFLOW_CONN_TENANT_DB=url_of(seed_db))
    airflow = str(venv / "bin" / "airflow")
    assert run([airflow, "db", "migrate"], env=env, cwd=site).returncode == 0

    # the copied DAG files import tenant_integrity from the wheel
    dagbag = (
        "from airflow.dag_processing.dagbag import DagBag; import json, tenant_integrity;"
        f"b = DagBag({str(site / 'dags')!r});"
        "print(json.dumps({'errors': {k: str(v) for k, v in b.import_errors.items()}, 'dags': sorted(b.dag_ids),"
        " 'package': tenant_integrity.__file__}))"
    )
    done = run([str(venv / "bin" / "python"), "-c", dagbag], env=env, cwd=site)
    assert done.returncode == 0, done.stderr[-3000:]
    bag = json.loads(done.stdout.strip().splitlines()[-1])
    assert bag["errors"] == {}
    assert bag["dags"] == sorted(p.stem for p in (PROJECT / "dags").glob("*.py"))
    assert Path(bag["package"]).is_relative_to(venv)

    # the plugin comes from the wheel's entry point: there is no plugins folder
    assert not (site / "airflow_home" / "plugins").exists()
    done = run([airflow, "plugins", "-o", "json"], env=env, cwd=site)
    assert done.returncode == 0, done.stderr[-3000:]
    listing = done.stdout.strip().splitlines()[-1]
    assert listing.startswith("["), done.stdout[-2000:]  # "No plugins loaded" without the entry point
    (plugin,) = json.loads(listing)
    assert plugin["name"] == "tenant_integrity"
    assert plugin["source"] == (
        "tenant_integrity==0.1.0: EntryPoint(name='tenant_integrity',"
        " value='tenant_integrity.plugin:TenantIntegrityPlugin', group='airflow.plugins')"
    )
    assert plugin["fastapi_apps"][0]["url_prefix"] == "/tenant-integrity"
    done = run([airflow, "providers", "get", "tenant-integrity", "-o", "json"], env=env, cwd=site)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1])[0]["Provider"] == "tenant-integrity"

    # the first DAG sync into this fresh metadata database is the run's own: the plugin, loaded lazily inside it,
    # creates the writer pool in a session of its own (pools.own_session), never in the sync's
    done = run(
        [airflow, "dags", "test", "tenant_backfill", "-c", json.dumps({"dry_run": False, "batch_size": 10})],
        env=env,
        cwd=site,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert final_state(output) == "success"
    # the seed incident repaired, as from the repository (tests/e2e/test_airflow_dags_test.py)
    assert active_distribution(seed_db) == {1: 51, 15: 3, 83: 1, 84: 1, 85: 1}
    assert query(seed_db, "select count(*) as n from tenant_audit_log")[0]["n"] == 31
    assert [r["status"] for r in query(seed_db, "select status from tenant_runs")] == ["succeeded"]
    # the run's files under $AIRFLOW_HOME/review, never in site-packages or the checkout
    (folder,) = (site / "airflow_home" / "review" / "customers_company").iterdir()
    assert {"report.html", "review.csv", "chunks"} <= {p.name for p in folder.iterdir()}
    assert "customers_company" in (folder / "report.html").read_text(encoding="utf-8")
    assert not list(venv.rglob("report.html"))
