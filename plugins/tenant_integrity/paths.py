"""Where the project's files are: everything is found relative to this package."""

import os
import re
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
INCLUDE_DIR = PROJECT_ROOT / "include"
SQL_DIR = INCLUDE_DIR / "sql"
SPECS_DIR = Path(os.environ.get("TENANT_SPECS_DIR", INCLUDE_DIR / "specs"))
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"


def review_dir() -> Path:
    """The local review folder: $TENANT_REVIEW_DIR, default review/ in the project.

    The base of the runs' files when $TENANT_STORAGE_URL is not set (tenant_integrity.storage)."""
    return Path(os.environ.get("TENANT_REVIEW_DIR", PROJECT_ROOT / "review")).resolve()


def safe_run_id(run_id: str) -> str:
    """A run id as a folder name or key segment: path-safe characters only, never starting with a dot."""
    return re.sub(r"[^A-Za-z0-9._+:-]", "_", run_id).lstrip(".") or "run"


def run_dir(spec_name: str, run_id: str) -> Path:
    """$TENANT_REVIEW_DIR/<spec>/<run_id>/ on local disk. A run's files go through storage.run_path."""
    return review_dir() / spec_name / safe_run_id(run_id)
