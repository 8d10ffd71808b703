"""The run report: HTML with the task output's numbers, a distribution chart and a chunk chart."""

from __future__ import annotations

import struct
from concurrent.futures import Future

import pytest

from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec
from tenant_integrity.repair import phases

SPEC = load_spec("customers_company")


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_every_real_run_writes_a_report(edge_db, review_dir):
    summary = phases.run_all(edge_db, SPEC, RunContext(run_id="rep", dry_run=False, batch_size=5))
    folder = review_dir / "customers_company" / "rep"
    assert summary.report == str(folder / "report.html")
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert "backfill_appointments:" in page and "31 rows" in page  # the same numbers as the task output
    assert "left for review:" in page and 'href="review.csv"' in page
    assert '<img src="tenant_distribution.png"' in page and '<img src="chunks.png"' in page
    assert png_size(folder / "tenant_distribution.png") == (900, 360)
    assert png_size(folder / "chunks.png") == (900, 500)
    assert summary.planned.distribution_before[0] == ("NULL", 45)  # 43 active + 2 soft-deleted
    assert summary.status == "succeeded"
    # people's tables, not Python reprs: start, end, duration, and each phase's numbers as lines
    assert "<th>started</th>" in page and "<th>duration</th>" in page and " UTC</td>" in page
    assert "backfilled: 31<br>" in page and "{" not in page.split("<h2>Phases</h2>")[1]


def test_the_distribution_chart_names_the_largest_tenants_and_sums_the_others():
    from tenant_integrity.repair.report import top_tenants

    before = [["NULL", 500_000]] + [[str(t), 1000 + t] for t in range(40)]
    after = [["NULL", 7]] + [[str(t), 1000 + t + (12_000 if t == 3 else 0)] for t in range(40)]
    labels, b, a = top_tenants(before, after, top=5)
    assert labels == ["NULL", "3", "39", "38", "37", "others"]
    assert (b[0], a[0], a[1]) == (500_000, 7, 13_003)
    others = [t for t in range(40) if t not in (3, 39, 38, 37)]
    assert (b[-1], a[-1]) == (sum(1000 + t for t in others), sum(1000 + t for t in others))


def test_the_report_waits_for_its_charts_and_fails_with_them(tmp_path):
    """The charts are drawn in a thread while the gate runs: an error there fails the report, never a silent gap."""
    from tenant_integrity.repair.report import write_report

    drawing = Future()
    drawing.set_exception(OSError("No space left on device: chunks.png"))
    with pytest.raises(OSError, match="No space left on device"):
        write_report(tmp_path, summary=None, charts=drawing)
    assert not (tmp_path / "report.html").exists()


def test_a_mariadb_session_materializes_grouped_ctes_once(edge_db):
    """Every connection: the classification's evidence aggregates once per chunk, not re-run per NULL row.

    (At 1M customers MariaDB chose the lateral plan on its own and the profile ran 1.7x slower; a table of a
    hundred rows never tempts it, so the session setting itself is what this asserts.)
    """
    with edge_db.connect() as db:
        assert db.server_is_mariadb()  # the test server; MySQL 8 is never sent the MariaDB-only switch
        switches = dict(s.split("=") for s in db.scalar("select @@session.optimizer_switch").split(","))
        db.commit()
    assert switches["split_materialized"] == "off"
    assert switches["derived_merge"] == "on"  # the one switch, nothing else of the server's choice
