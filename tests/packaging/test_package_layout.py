"""The package's metadata agrees with the repository (quick, no build): pyproject.toml's dependency ranges hold the
exact pins of requirements.txt and requirements.lock, the requirements are split by purpose, the provider info names
the distribution Airflow will compare it with, and from the repository the package reads its files in place."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tenant_integrity import provider
from tenant_integrity.core import paths, spec
from tenant_integrity.core.errors import TenantIntegrityError

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
DEV_TOOLS = {"pytest", "pytest-xdist", "hypothesis", "aiosmtpd", "playwright", "ruff", "moto", "uv"}
S3 = {"apache-airflow-providers-amazon", "s3fs"}
CELERY = {"apache-airflow-providers-celery", "celery", "redis", "psycopg2-binary", "asyncpg"}


def pins(name: str) -> dict[str, str]:
    """name -> version of the `name==version` lines of a requirements file (canonical names)."""
    found = {}
    for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            package, version = line.split("==", 1)
            found[canonicalize_name(package.split("[", 1)[0])] = version.strip()  # moto[server]: the package moto
    return found


def test_the_dependency_ranges_are_the_runtime_pins_and_hold_them():
    ranges = {canonicalize_name(r.name): r.specifier for r in map(Requirement, PYPROJECT["project"]["dependencies"])}
    runtime, lock = pins("requirements.txt"), pins("requirements.lock")
    assert set(ranges) == set(runtime)
    for name, specifier in ranges.items():
        assert specifier.contains(runtime[name]), (name, str(specifier), runtime[name])
        assert lock[name] == runtime[name], name  # the lock is the tested set the pins come from
        assert re.fullmatch(r">=[\d.]+,<[\d.]+|<[\d.]+,>=[\d.]+", str(specifier)), (name, str(specifier))


def test_the_requirements_are_split_by_purpose():
    runtime, celery, s3 = pins("requirements.txt"), pins("requirements-celery.txt"), pins("requirements-s3.txt")
    assert set(celery) == CELERY
    assert set(s3) == S3
    assert not set(runtime) & (DEV_TOOLS | CELERY | S3)
    # the s3 extra is requirements-s3.txt as ranges
    extra = {
        canonicalize_name(r.name): r.specifier
        for r in map(Requirement, PYPROJECT["project"]["optional-dependencies"]["s3"])
    }
    assert set(extra) == set(s3) and all(extra[name].contains(version) for name, version in s3.items())
    dev = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8")
    assert set(pins("requirements-dev.txt")) == DEV_TOOLS
    assert {"-r requirements.txt", "-r requirements-celery.txt", "-r requirements-s3.txt"} <= set(dev.splitlines())
    lock = pins("requirements.lock")
    for name, version in {**runtime, **celery, **s3, **pins("requirements-dev.txt")}.items():
        assert lock.get(name) == version, name
    assert not any(name == "tenant-integrity" for name in lock), "the lock constrains dependencies, not the package"


def test_the_provider_info_names_the_distribution_and_the_entry_points_exist():
    # Airflow refuses provider info whose package-name is not the distribution's canonical name
    info = provider.get_provider_info()
    assert info["package-name"] == canonicalize_name(PYPROJECT["project"]["name"]) == "tenant-integrity"
    assert info["versions"] == ["0.1.0"]
    points = PYPROJECT["project"]["entry-points"]
    assert points["apache_airflow_provider"] == {"provider_info": "tenant_integrity.provider:get_provider_info"}
    assert points["airflow.plugins"] == {"tenant_integrity": "tenant_integrity.plugin:TenantIntegrityPlugin"}
    plugin_class = points["airflow.plugins"]["tenant_integrity"].replace(":", ".")
    (listed,) = provider.PLUGINS
    assert listed == {"name": "tenant_integrity", "plugin-class": plugin_class}


def test_from_the_repository_the_package_reads_its_files_in_place():
    assert not paths.INSTALLED
    assert paths.PROJECT_ROOT == ROOT
    assert paths.SQL_DIR == ROOT / "include" / "sql"
    assert paths.EXPECTATIONS_DIR == ROOT / "expectations"
    assert paths.INCLUDE_DIR == ROOT / "include"


def test_a_missing_spec_folder_names_the_variable_that_sets_it(tmp_path):
    missing = tmp_path / "nowhere"
    expected = f"no spec folder {missing}: set TENANT_SPECS_DIR to the folder of your specs (one <name>.yaml per table)"
    with pytest.raises(TenantIntegrityError) as names:
        spec.spec_names(missing)
    assert str(names.value) == expected
    with pytest.raises(TenantIntegrityError) as load:
        spec.load_spec("customers_company", missing)
    assert str(load.value) == expected
