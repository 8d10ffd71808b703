"""Where the project's files are. One package, two layouts:

- the repository (the package in plugins/, Airflow's plugins folder): the shipped files sit next to plugins/
  (include/sql, include/demo, include/registry.yaml, expectations/) and PROJECT_ROOT is the repository;
- an installed wheel (pip install tenant_integrity): the same files are package data, tenant_integrity/_include and
  tenant_integrity/_expectations (pyproject.toml maps them from include/ and expectations/), found with
  importlib.resources. The user's own files are under PROJECT_ROOT = $AIRFLOW_HOME (default ~/airflow, as Airflow's):
  the specs in $TENANT_SPECS_DIR (default $AIRFLOW_HOME/include/specs), review/ and data_docs/.
"""

import os
import re
from importlib.resources import files
from pathlib import Path

_SHIPPED = files("tenant_integrity")
INSTALLED = _SHIPPED.joinpath("_include").is_dir()  # the wheel's package data; never in the repository
if INSTALLED:
    PROJECT_ROOT = Path(os.environ.get("AIRFLOW_HOME", "~/airflow")).expanduser().resolve()
    INCLUDE_DIR = Path(str(_SHIPPED.joinpath("_include")))
    EXPECTATIONS_DIR = Path(str(_SHIPPED.joinpath("_expectations")))
else:
    PROJECT_ROOT = Path(__file__).resolve().parents[3]  # core/ in tenant_integrity/ in plugins/
    INCLUDE_DIR = PROJECT_ROOT / "include"
    EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
SQL_DIR = INCLUDE_DIR / "sql"
SPECS_DIR = Path(os.environ.get("TENANT_SPECS_DIR", PROJECT_ROOT / "include" / "specs"))


def review_dir() -> Path:
    """The local review folder: $TENANT_REVIEW_DIR, default review/ in the project.

    The base of the runs' files when $TENANT_STORAGE_URL is not set (tenant_integrity.store.storage)."""
    return Path(os.environ.get("TENANT_REVIEW_DIR", PROJECT_ROOT / "review")).resolve()


def safe_run_id(run_id: str) -> str:
    """A run id as a folder name or key segment: path-safe characters only, never starting with a dot."""
    return re.sub(r"[^A-Za-z0-9._+:-]", "_", run_id).lstrip(".") or "run"


def run_dir(spec_name: str, run_id: str) -> Path:
    """$TENANT_REVIEW_DIR/<spec>/<run_id>/ on local disk. A run's files go through storage.run_path."""
    return review_dir() / spec_name / safe_run_id(run_id)
