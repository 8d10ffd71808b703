"""The daily validation (and its CLI twin): GX checks in the database, history rows, Data Docs, alert text.

standard: active NULL tenants, parent/child mismatches, tenants that do not exist.
comprehensive adds: new NULL rows since the previous validation, soft-deleted NULL rows (warning),
open review rows (warning), integrity of the last remediation run, the per-tenant isolation proof.
A critical check that fails makes the validation fail; warnings are recorded and shown only.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from tenant_integrity.checks import gates
from tenant_integrity.checks.gates import CheckResult
from tenant_integrity.core.errors import ParamError
from tenant_integrity.core.spec import Spec
from tenant_integrity.enforce import guards
from tenant_integrity.enforce.guards import GuardStatus
from tenant_integrity.store import bookkeeping, sql, storage
from tenant_integrity.store.db import DbTarget

log = logging.getLogger(__name__)
MODES = ("standard", "comprehensive")
SAMPLE_IN_MAIL = 20


@dataclass
class ValidationReport:
    spec: str
    table: str
    run_id: str
    mode: str
    validation_no: int
    checks: list[CheckResult] = field(default_factory=list)
    data_docs: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.success and c.severity == "critical"]

    @property
    def passed(self) -> bool:
        return not self.failed

    @classmethod
    def from_dict(cls, data: dict) -> ValidationReport:
        """Back from as_dict() (the XCom between the validate and alert tasks)."""
        checks = [CheckResult(**c) for c in data["checks"]]
        return cls(
            data["spec"], data["table"], data["run_id"], data["mode"], data["validation_no"], checks, data["data_docs"]
        )

    def as_dict(self) -> dict:
        return {
            "spec": self.spec,
            "table": self.table,
            "run_id": self.run_id,
            "mode": self.mode,
            "validation_no": self.validation_no,
            "passed": self.passed,
            "checks": [c.as_dict() for c in self.checks],
            "data_docs": self.data_docs,
        }


def _available(spec: Spec, last_run_no: int | None, has_baseline: bool) -> set[str]:
    have = {"run_no"} if last_run_no is not None else set()
    if has_baseline:
        have.add("previous_validation")
    if spec.target.created_at_column:
        have.add("created_at")
    if spec.relations:
        have.add("relations")
    return have


def _skipped(item: dict, missing: list[str]) -> CheckResult:
    reasons = {
        "created_at": "the spec names no target.created_at_column",
        "run_no": "no finished tenant_backfill run yet",
        "relations": "the spec lists no relations",
        "previous_validation": "first validation of this spec: this one is the baseline",
    }
    return CheckResult(
        check=item["meta"]["check"],
        table="",
        success=True,
        observed="skipped: " + "; ".join(reasons[m] for m in missing),
        sample=[],
        description=item["meta"].get("description", ""),
        severity=item["meta"].get("severity", "critical"),
    )


def validate(target: DbTarget, spec: Spec, mode: str, run_id: str, docs_dir: Path | None = None) -> ValidationReport:
    """Run the checks of `mode` for one spec, record them in the history, build Data Docs."""
    if mode not in MODES:
        raise ParamError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    with target.connect() as db:
        columns = bookkeeping.validate_against_database(db, spec)
        bookkeeping.ensure_tables(db, spec, columns)
        guard = guards.read_status(db, spec)  # on the schema just checked
        with db.transaction():
            validation_no = db.insert(
                sql.render("bookkeeping/insert_validation_run.sql"), {"spec": spec.name, "run_id": run_id, "mode": mode}
            )
            last_run_no = db.scalar(sql.render("bookkeeping/last_backfill_run.sql"), {"spec": spec.name})
            has_baseline = bool(
                db.scalar(
                    sql.render("bookkeeping/previous_validation.sql"),
                    {"spec": spec.name, "validation_no": validation_no},
                )
            )
    last_run_no = int(last_run_no) if last_run_no is not None else None
    report = ValidationReport(spec.name, spec.target.table, run_id, mode, validation_no)

    suites = ["validation_standard"] + (["validation_comprehensive"] if mode == "comprehensive" else [])
    have = _available(spec, last_run_no, has_baseline)
    runnable, skipped = [], []
    for suite in suites:
        template = gates.load_suite_template(suite)
        for item in template["expectations"]:
            missing = [n for n in item.get("meta", {}).get("needs", []) if n not in have]
            if missing:
                skipped.append(_skipped(item, missing))
            else:
                runnable.append(item)
    values = {"validation_no": validation_no}
    if last_run_no is not None:
        values["run_no"] = last_run_no
    expectations = gates.expand_suite({"expectations": runnable}, spec, **values)
    # one folder per validation: GX rebuilds a site from its (here ephemeral) store and drops older pages
    root = storage.data_docs_base() if docs_dir is None else storage.local(docs_dir)
    dest = storage.child(root, spec.name, f"validation_{validation_no:06d}")
    # GX writes to a filesystem only: an object store gets the site uploaded once it is built
    with storage.built_locally(dest) as folder:
        outcome = gates.run_expectations(target, spec, f"validation_{mode}", expectations, data_docs_dir=folder)
        report.data_docs = [storage.published_url(url, folder, dest) for url in outcome.data_docs]
    report.checks = outcome.results + skipped + [guard_check(spec, guard)]
    _record(target, report)
    return report


GRAPH = "tenant_graph"  # the name the graph audit's validations go by in the history


def validate_graph(target: DbTarget, run_id: str, mode: str = "comprehensive") -> ValidationReport | None:
    """Audit every foreign key between two tenant tables that discovery finds: no child row may carry
    another tenant than its parent row (both known). One check per edge, named for it, with the first ids.

    The tenant column and table come from include/registry.yaml; without them there is no graph to audit (None).
    """
    from tenant_integrity.graph import discovery, edge_audit, policy

    registry = policy.load_registry()
    if not (registry.tenant_column and registry.tenant_table):
        log.info("include/registry.yaml names no tenant_column/tenant_table: no graph audit")
        return None
    found = discovery.discover(target, registry.tenant_column, registry.tenant_table)
    mismatches = {m.edge: m for m in edge_audit.audit_edges(target, found)}
    with target.connect() as db, db.transaction():
        for statement in ("create_validation_runs.sql", "create_validation_history.sql"):
            db.execute(sql.render(f"bookkeeping/{statement}"))
        validation_no = db.insert(
            sql.render("bookkeeping/insert_validation_run.sql"), {"spec": GRAPH, "run_id": run_id, "mode": mode}
        )
    report = ValidationReport(
        GRAPH, f"{len(found.edges)} foreign key(s) between tenant tables", run_id, mode, validation_no
    )
    for edge in found.edges:
        mismatch = mismatches.get(edge)
        report.checks.append(
            CheckResult(
                # ASCII: check names reach mail subjects
                check=f"edge_tenant_match:{edge.table}.{edge.column}->{edge.parent_table}.{edge.parent_column}",
                table=edge.table,
                success=mismatch is None,
                observed=mismatch.count if mismatch else 0,
                sample=list(mismatch.child_ids) if mismatch else [],
                description=f"{edge.table} rows whose {registry.tenant_column} differs from their "
                f"{edge.parent_table} row's ({'declared foreign key' if edge.declared else 'by naming'})",
            )
        )
    _record(target, report)
    return report


def guard_check(spec: Spec, found: GuardStatus) -> CheckResult:
    """Which tenant_guard triggers the spec's table has, and what the `log` mode recorded: reported, never failing
    the validation (a warning while log rows exist: the application still writes NULL tenants)."""
    if not found.installed:
        observed = "no guard installed (tenant_guard installs one: fill, log or reject)"
    else:
        observed = f"mode {found.mode}{'' if found.complete else ' (incomplete)'} installed"
        if found.log_rows:
            observed += f"; {found.log_rows} NULL-tenant write(s) logged"
    return CheckResult(
        check="tenant_guard",
        table=spec.target.table,
        success=found.log_rows == 0,
        observed=observed,
        sample=[e.row_key for e in found.last_log],
        description="the guard triggers on the table and the NULL-tenant writes its log mode recorded",
        severity="warning",
    )


def _record(target: DbTarget, report: ValidationReport) -> None:
    with target.connect() as db, db.transaction():
        for c in report.checks:
            db.execute(
                sql.render("bookkeeping/insert_validation_check.sql"),
                {
                    "validation_no": report.validation_no,
                    "spec": report.spec,
                    "run_id": report.run_id,
                    "check_name": c.check,
                    "severity": c.severity,
                    "observed_value": str(c.observed)[:255],
                    "passed": int(c.success),
                    "sample_ids": json.dumps(c.sample[:SAMPLE_IN_MAIL], default=str),
                },
            )
        db.execute(
            sql.render("bookkeeping/finish_validation_run.sql"),
            {
                "passed": int(report.passed),
                "data_docs": report.data_docs[0] if report.data_docs else None,
                "validation_no": report.validation_no,
            },
        )


# --- for people: the table on stdout and the on-call mail ---------------------------------------


def format_table(report: ValidationReport) -> str:
    verdict = "PASSED" if report.passed else f"FAILED ({len(report.failed)} check(s))"
    rows = [("check", "severity", "result", "observed", "sample ids")]
    for c in report.checks:
        result = "ok" if c.success else ("FAILED" if c.severity == "critical" else "warning")
        if str(c.observed).startswith("skipped"):
            result = "skipped"
        rows.append((c.check, c.severity, result, str(c.observed), ", ".join(str(s) for s in c.sample[:10])))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [f"validation of spec {report.spec} (table {report.table}, {report.mode}): {verdict}"]
    for r in rows:
        lines.append("  " + "  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4])
    if report.data_docs:
        lines.append(f"  Data Docs: {report.data_docs[0]}")
    return "\n".join(lines)


#
# Each failing critical check is compared with its previous result for the same spec in
# tenant_validation_history, and with what on-call was last told about it (tenant_validation_alerts).
