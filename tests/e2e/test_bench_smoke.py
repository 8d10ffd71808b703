"""`make bench BENCH_CUSTOMERS=20000`: the benchmark runs end to end and writes every field (no timing asserted)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tenant_integrity.store.db import DbTarget
from tests.conftest import PROJECT, SERVER_URL
from tests.helpers.dbcheck import query

pytestmark = pytest.mark.e2e
FIELDS = {
    "seed_oneshot_rows_per_s": float,
    "pipeline_rows_per_s": float,
    "ratio": float,
    "p99_chunk_s": float,
    "max_chunk_s": float,
    "peak_rss_mb": float,
    "customers": int,
    "null_rows": int,
    "server_version": str,
    "buffer_pool_mb": int,
}


def test_make_bench_small(tmp_path):
    out, readme = tmp_path / "latest.json", tmp_path / "README.md"
    readme.write_text("| header |\n", encoding="utf-8")
    env = {
        **os.environ,
        "BENCH_CUSTOMERS": "20000",
        "BENCH_OUT": str(out),
        "BENCH_README": str(readme),
        "BENCH_BUFFER_POOL_MB": "0",
        "BENCH_GUARD_INSERTS": "200",
        "BENCH_DB_PREFIX": "ti_bench_smoke",  # never the databases of a real bench running beside the tests
    }
    done = subprocess.run(["make", "-s", "bench"], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    result = json.loads(out.read_text(encoding="utf-8"))
    for field, kind in FIELDS.items():
        assert isinstance(result[field], kind | int if kind is float else kind), field
    assert result["customers"] == 20000
    assert result["workers"] == 2  # the backfill DAG's default, recorded with the numbers
    assert 4500 < result["null_rows"] < 5500  # 25% of 20000, by CRC32
    assert result["pipeline_backfilled_rows"] > result["seed_oneshot_rows"] > 0  # we also use the phone source
    assert result["agreement_rows_checked"] == result["seed_oneshot_rows"]  # every seed row compared, none differ
    assert result["ratio"] == pytest.approx(result["pipeline_rows_per_s"] / result["seed_oneshot_rows_per_s"], rel=0.01)
    # the ratio is stored to 3 decimals: equal to the quotient up to that rounding
    assert result["end_to_end_ratio"] == pytest.approx(result["seed_oneshot_s"] / result["pipeline_total_s"], abs=6e-4)
    assert len(readme.read_text(encoding="utf-8").splitlines()) == 2  # one row appended
    # the daily validation after the run fails on one check only: the review rows, still NULL until a person decides
    assert result["validation_passed"] is False
    assert result["validation_failed_checks"] == {"active_null_tenant": result["review_rows_active"]}
    assert result["review_rows_active"] > 0
    # application inserts with and without each tenant guard, measured on the same database in the same run
    assert set(result["guard_inserts_per_s"]) == {"none", "fill", "log", "reject"}
    assert set(result["guard_throughput_ratio"]) == {"fill", "log", "reject"}
    assert all(rate > 0 for rate in result["guard_inserts_per_s"].values())
    schemas = query(
        DbTarget.from_url(f"{SERVER_URL}/information_schema"),
        "select schema_name as name from schemata where schema_name like 'ti_bench_smoke%%' order by 1",
    )
    assert [s["name"] for s in schemas] == ["ti_bench_smoke_pipeline", "ti_bench_smoke_seed"]
