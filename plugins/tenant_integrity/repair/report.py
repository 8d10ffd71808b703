"""The run report: one HTML page per backfill run, with the numbers of the task output and two charts.

Written next to the review CSV (<storage base>/<spec>/<run_id>/report.html, see tenant_integrity.store.storage):
counts per phase, the review CSV, the tenant distribution before and after (bar chart), chunk durations over time and
throughput (line charts). matplotlib renders PNGs with the Agg backend (no display needed), in a
thread that post_validation starts before its gate: importing matplotlib and drawing take ~2 s of
Python while the gate's queries keep the database busy.
"""

from __future__ import annotations

import html
import io
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from tenant_integrity.core.spec import Spec
from tenant_integrity.repair.formatting import format_summary
from tenant_integrity.repair.results import Summary
from tenant_integrity.store import sql, storage
from tenant_integrity.store.db import Database, DbTarget

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

PHASES_WITH_CHUNKS = ("backup", "detect_conflicts", "export_review", "soft_delete_orphans")


def tenant_distribution(db: Database, spec: Spec) -> list[list]:
    rows = db.rows(sql.render("report/tenant_distribution.sql", spec))
    db.commit()
    return [["NULL" if r["tenant"] is None else str(r["tenant"]), int(r["row_count"])] for r in rows]


def application_writes(db: Database, spec: Spec, run_no: int, range_size: int) -> dict:
    """What the application inserted or wrote while run `run_no` went on, and what the run did about it.

    The gates leave these rows out (their change marker says the application wrote them); the summary
    lists them: NULL-tenant rows that arrived (inserted, or written to NULL) and are not handled, rows
    both the run and the application changed, and key ranges the checksum cannot prove.
    """
    rows = db.rows(sql.render("report/application_writes.sql", spec, run_no=run_no, range_size=range_size))
    db.commit()

    def listed(flag) -> dict:
        ids = [spec.target_key.parse(r["row_id"]) for r in rows if flag(r)]
        return {"rows": len(ids), "ids": ids[:20]}

    existing = [r for r in rows if not r["inserted"]]
    return {
        "inserted": listed(lambda r: r["inserted"]),
        "null_tenant_arrived": listed(lambda r: r["null_tenant_not_handled"]),
        "existing_rows_written_by_application": listed(lambda r: not r["inserted"]),
        # a later tenant_rollback leaves these alone unless the application's write came before ours
        "changed_by_the_run_and_the_application": listed(lambda r: r["changed_by_the_run"]),
        "ranges_not_checksummed": len({r["range_no"] for r in existing}),
    }


TOP_TENANTS = 15  # the chart names the largest tenants and sums the rest as "others"


def top_tenants(before: list, after: list, top: int = TOP_TENANTS) -> tuple[list[str], list[int], list[int]]:
    """The largest `top` tenants (by rows after, then before), NULL always shown, the rest summed as "others"."""
    b, a = dict(before), dict(after)
    tenants = sorted(set(b) | set(a), key=lambda t: (-(a.get(t, 0)), -(b.get(t, 0)), t))
    shown = [t for t in tenants if t == "NULL"] + [t for t in tenants if t != "NULL"][: top - ("NULL" in tenants)]
    rest = [t for t in tenants if t not in shown]
    labels = shown + (["others"] if rest else [])
    befores = [b.get(t, 0) for t in shown] + ([sum(b.get(t, 0) for t in rest)] if rest else [])
    afters = [a.get(t, 0) for t in shown] + ([sum(a.get(t, 0) for t in rest)] if rest else [])
    return labels, befores, afters


def _png(fig) -> bytes:
    """The figure as PNG bytes (drawn in memory, then written to the storage whole)."""
    import matplotlib.pyplot as plt

    out = io.BytesIO()
    fig.savefig(out, format="png")
    plt.close(fig)
    return out.getvalue()


def _distribution_chart(before: list, after: list, spec: Spec) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tenants, b, a = top_tenants(before, after)
    xs = range(len(tenants))
    fig, ax = plt.subplots(figsize=(9, 3.6), dpi=100)
    ax.bar([x - 0.2 for x in xs], b, width=0.4, label="before", color="#c0c0c0")
    ax.bar([x + 0.2 for x in xs], a, width=0.4, label="after", color="#1f77b4")
    ax.set_xticks(list(xs), tenants, rotation=45, fontsize=8)
    ax.set_yscale("log")  # a tenant of 3 rows stays visible beside one of 300,000
    ax.set_ylabel(f"{spec.target.table}, soft-deleted included (log scale)")
    ax.set_title(f"{spec.target.tenant_column}: rows per tenant, the largest {TOP_TENANTS} and the others")
    ax.legend()
    fig.tight_layout()
    return _png(fig)


ROLLING = 25  # chunks in the rolling median that carries the chunk charts at thousands of chunks


def _rolling_median(values: list[float], window: int = ROLLING) -> list[float]:
    import statistics

    return [statistics.median(values[max(0, i - window + 1) : i + 1]) for i in range(len(values))]


def _chunk_chart(chunk_logs: list[dict]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 5), dpi=100, sharex=True)
    offset = 0
    for number, record in enumerate(chunk_logs):
        durations, rows = record["seconds"], record["rows"]
        if not durations:
            continue
        color = f"C{number % 10}"
        xs = list(range(offset, offset + len(durations)))
        # every chunk as a dot, the rolling median as the line: readable at 10 chunks and at 10,000
        top.scatter(xs, durations, s=3, alpha=0.35, color=color)
        top.plot(xs, _rolling_median(durations), linewidth=1.2, color=color, label=record["phase"])
        rates = [n / d if d else 0.0 for d, n in zip(durations, rows, strict=False)]
        bottom.plot(xs, _rolling_median(rates), linewidth=1.2, color=color)
        offset += len(durations)
    top.set_yscale("log")
    top.set_ylabel("chunk seconds (log)")
    top.set_title(f"every chunk transaction in order (dots) and the median of {ROLLING} (line)")
    if offset:
        top.legend(fontsize=7, ncol=3)
    bottom.set_ylabel(f"rows/s (median of {ROLLING})")
    bottom.set_xlabel("chunk")
    fig.tight_layout()
    return _png(fig)


def _cells(fields: dict) -> str:
    """A phase's numbers as a person reads them: one `name: value` per line, dicts as their items."""
    lines = []
    for key, value in fields.items():
        if key in ("chunk_stats", "review_csv", "sample_ids") or value in (None, "", [], {}, ()):
            continue
        shown = ", ".join(f"{k} {v}" for k, v in value.items()) if isinstance(value, dict) else value
        if isinstance(shown, list):
            shown = ", ".join(map(str, shown))
        lines.append(f"{html.escape(key.replace('_', ' '))}: {html.escape(str(shown))}")
    return "<br>".join(lines)


def draw_charts(target: DbTarget, spec: Spec, run_id: str, before: list, folder: ObjectStoragePath) -> None:
    """The report's two PNGs in the run's folder: the tenant distribution before and now, and every chunk."""
    from tenant_integrity.engine.chunk_log import read_chunk_logs

    with target.connect() as db:
        after = tenant_distribution(db, spec)
    storage.write_bytes(storage.child(folder, "tenant_distribution.png"), _distribution_chart(before, after, spec))
    storage.write_bytes(storage.child(folder, "chunks.png"), _chunk_chart(read_chunk_logs(spec.name, run_id)))


def start_drawing_charts(target: DbTarget, spec: Spec, run_id: str, before: list, folder: ObjectStoragePath) -> Future:
    """draw_charts in a thread of its own; the report waits for it (and re-raises what it raised)."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="report-charts")
    drawing = pool.submit(draw_charts, target, spec, run_id, before, folder)
    pool.shutdown(wait=False)
    return drawing


def write_report(
    folder: ObjectStoragePath, summary: Summary, charts: Future, times: dict | None = None
) -> ObjectStoragePath:
    """Write report.html into the run's folder once its charts are drawn; return its path.

    `times`: started_at and ended_at (UTC) of the run, shown with its duration."""
    charts.result()
    rows = []
    for name, result in summary.phases.named().items():
        fields = result.to_dict()
        stats = fields.get("chunk_stats") or {}
        rows.append(
            f"<tr><td>{html.escape(name)}</td><td>{_cells(fields)}</td>"
            f"<td>{stats.get('chunks', '')}</td><td>{stats.get('p99_s', '')}</td><td>{stats.get('max_s', '')}</td></tr>"
        )
    review = summary.phases.review.review_csv
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>tenant_backfill {html.escape(summary.run_id)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:60em}}td,th{{border:1px solid #ccc;padding:.3em .6em}}
table{{border-collapse:collapse}}pre{{background:#f6f6f6;padding:1em}}</style></head><body>
<h1>tenant_backfill: spec {html.escape(summary.spec)}, table {html.escape(summary.table)}</h1>
<p>run <code>{html.escape(summary.run_id)}</code> — status <b>{html.escape(summary.status)}</b></p>
{_times(times)}
<h2>Summary</h2><pre>{html.escape(format_summary(summary))}</pre>
<h2>Phases</h2><table><tr><th>phase</th><th>what it did</th><th>chunks</th><th>p99 s</th><th>max s</th></tr>
{"".join(rows)}</table>
<p>Review CSV: {f'<a href="{html.escape(PurePosixPath(review).name)}">{html.escape(review)}</a>' if review else "-"}</p>
<h2>Tenant distribution</h2><img src="tenant_distribution.png" alt="rows per tenant before and after">
<h2>Chunks</h2><img src="chunks.png" alt="chunk durations and throughput">
</body></html>
"""
    return storage.write_text(storage.child(folder, "report.html"), page)


def _times(times: dict | None) -> str:
    if not times or not times.get("started_at"):
        return ""
    start, end = times["started_at"], times["ended_at"]
    seconds = (end - start).total_seconds()
    took = f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"
    return (
        f"<table><tr><th>started</th><td>{start:%Y-%m-%d %H:%M:%S} UTC</td></tr>"
        f"<tr><th>ended</th><td>{end:%Y-%m-%d %H:%M:%S} UTC</td></tr>"
        f"<tr><th>duration</th><td>{took}</td></tr></table>"
    )
