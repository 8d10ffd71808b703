"""`python -m tenant_integrity validate`: same checks, a readable table, exit codes."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec
from tenant_integrity.repair import phases
from tests.conftest import PROJECT, url_of


def cli(target, *args, tmp_path):
    env = {**os.environ, "AIRFLOW_CONN_TENANT_DB": url_of(target), "TENANT_DATA_DOCS_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "tenant_integrity", "validate", *args],
        env=env,
        capture_output=True,
        text=True,
        cwd=PROJECT / "plugins",
        timeout=300,
    )
    return done.returncode, done.stdout, done.stderr


@pytest.fixture
def repaired(seed_db):
    phases.run_all(seed_db, load_spec("customers_company"), RunContext(run_id="b", dry_run=False))
    return seed_db


def test_clean_database_exits_zero_in_both_modes(repaired, tmp_path):
    for extra in ([], ["--comprehensive"]):
        code, out, _ = cli(repaired, "--spec", "customers_company", "--fail-on-issues", *extra, tmp_path=tmp_path)
        assert code == 0, out
        assert "PASSED" in out.splitlines()[0]
    assert "soft_deleted_null_tenant        warning   warning  3" in out


def test_issues_exit_one_only_with_fail_on_issues(repaired, tmp_path):
    with repaired.connect() as db, db.transaction():
        db.execute("update customers set company_id = null where id = 3")
    code, out, _ = cli(repaired, "--spec", "customers_company", tmp_path=tmp_path)
    assert code == 0
    assert out.splitlines()[0] == (
        "validation of spec customers_company (table customers, standard): FAILED (1 check(s))"
    )
    assert re.search(r"\n  active_null_tenant +critical +FAILED +1 +3\n", out), (
        out
    )  # columns as wide as the longest cell
    code, out, _ = cli(
        repaired, "--spec", "customers_company", "--comprehensive", "--fail-on-issues", tmp_path=tmp_path
    )
    assert code == 1
    assert "comprehensive): FAILED (2 check(s))" in out.splitlines()[0]  # + isolation: its appointments name 1


def test_unknown_spec_exits_two_with_a_clear_error(repaired, tmp_path):
    code, _, err = cli(repaired, "--spec", "orders", tmp_path=tmp_path)
    assert code == 2
    assert "no spec file" in err and "known specs: appointments_company, calls_company, customers_company" in err
