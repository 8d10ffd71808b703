"""GX gates: suites in expectations/*.json, run with GX Core in the database (SQL pushdown).

A suite file is a GX 1.x suite (name, expectations[type, kwargs, meta]) whose strings may hold
Jinja placeholders for the spec (`{{ spec.target.key }}`), and whose `unexpected_rows_query`
may be `{"sql": "checks/<file>.sql"}`: a statement in include/sql rendered like every other.
`meta.asset` picks the table the expectation runs on (`target` or `tenant_table`);
`meta.for_each: relations` repeats it once per relation of the spec.

GX substitutes `{batch}` with an aliased derived table unless the query has a JOIN, in which case
the query must alias it itself. So a check either joins and writes `{batch} as <alias>`, or does
not join and names `{batch}` bare (columns unqualified). `meta.severity: warning` records a check
without failing the run; everything else is critical.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import jinja2

from tenant_integrity.core.errors import GateFailed
from tenant_integrity.core.paths import EXPECTATIONS_DIR
from tenant_integrity.core.spec import Spec
from tenant_integrity.store import sql
from tenant_integrity.store.db import DbTarget

log = logging.getLogger(__name__)
# GX logs at INFO while its modules import and while a context starts: quiet before any GX import (_quiet_gx)
logging.getLogger("great_expectations").setLevel(logging.WARNING)
SAMPLE_SIZE = 20
COUNTED_ONCE = "unexpected_rows_counted_once_expectation"  # gx_expectations.TYPE, named here without importing GX
DOCS_SITE = "tenant_integrity"
_JOIN = re.compile(r"\bjoin\b", re.IGNORECASE)
_COMMENT = re.compile(r"--[^\n]*")


@dataclass
class CheckResult:
    check: str
    table: str
    success: bool
    observed: object
    sample: list
    description: str
    severity: str = "critical"
    first_bad_created_at: object = None

    def as_dict(self) -> dict:
        return {
            "check": self.check,
            "table": self.table,
            "success": self.success,
            "observed": self.observed,
            "sample": self.sample,
            "description": self.description,
            "severity": self.severity,
            "first_bad_created_at": self.first_bad_created_at,
        }


def load_suite_template(name: str, expectations_dir: Path = EXPECTATIONS_DIR) -> dict:
    path = Path(expectations_dir) / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _render_value(value, spec: Spec):
    if isinstance(value, str):
        return jinja2.Template(value, undefined=jinja2.StrictUndefined).render(spec=spec)
    return value


def _check_batch_form(name: str, query: str) -> None:
    if "{batch}" not in query:
        return
    joins = bool(_JOIN.search(_COMMENT.sub(" ", query)))
    aliased = bool(re.search(r"\{batch\}\s+as\s", query, re.IGNORECASE))
    if joins and not aliased:
        raise ValueError(f"{name}: a check that joins must alias {{batch}} itself (`{{batch}} as t`) — GX rule")
    if aliased and not joins:
        raise ValueError(f"{name}: a check without a join must leave {{batch}} unaliased — GX aliases it itself")


def expand_suite(template: dict, spec: Spec, **sql_values) -> list[dict]:
    """Turn a suite template into concrete expectation configs for this spec.

    Returns dicts with type, kwargs, check, asset, description; SQL already rendered.
    """
    expanded = []
    for item in template["expectations"]:
        meta = item.get("meta", {})
        repeats = [None]
        if meta.get("for_each") == "relations":
            repeats = list(sql.spec_context(spec)["relations"])
            if not repeats:
                continue
        for index, relation in enumerate(repeats):
            kwargs = {}
            for key, value in item.get("kwargs", {}).items():
                if isinstance(value, dict) and "sql" in value:
                    extra = dict(sql_values)
                    if relation is not None:
                        extra["relation"] = relation
                    kwargs[key] = sql.render(value["sql"], spec, **extra)
                    _check_batch_form(value["sql"], kwargs[key])
                else:
                    kwargs[key] = _render_value(value, spec)
            check = meta["check"]
            if relation is not None:
                check = f"{check}:{spec.relations[index].table}"
            expanded.append(
                {
                    "type": item["type"],
                    "kwargs": kwargs,
                    "check": check,
                    "asset": meta.get("asset", "target"),
                    "description": meta.get("description", ""),
                    "severity": meta.get("severity", "critical"),
                    "needs": meta.get("needs", []),
                }
            )
    return expanded


def _import_gx():
    """Import GX, the project's expectation and the modules a context uses, with GX's INFO chatter quieted."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    # GX sets some of its loggers to INFO itself (data_context.types.base): the parent's level alone is not enough
    for name in ["great_expectations", *logging.root.manager.loggerDict]:
        if name.startswith("great_expectations") and logging.getLogger(name).level < logging.WARNING:
            logging.getLogger(name).setLevel(logging.WARNING)
    from great_expectations.checkpoint import UpdateDataDocsAction  # noqa: F401 (the gate's imports, loaded here)
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration  # noqa: F401

    from tenant_integrity.checks import gx_expectations  # noqa: F401 (registers the project's expectation with GX)

    return gx


_loading: threading.Thread | None = None


def start_loading_gx() -> None:
    """Import GX in a background thread while the caller's first SQL runs (about 3 s of CPU at every gate task).

    The caller's queries wait on the database with the GIL released, so the import overlaps them; the
    gate's own import then finds the modules loaded (or waits for the thread, never imports twice).
    """
    global _loading
    if _loading is None and "great_expectations" not in sys.modules:
        _loading = threading.Thread(target=_import_gx, name="load-gx", daemon=True)
        _loading.start()


def _quiet_gx():
    """An ephemeral GX context with no analytics, progress bars or start-up chatter in the task log.

    GX logs its context set-up at INFO (temporary docs directories, store back-ends): in a preflight
    task that was most of the log, above the plan. Its warnings and errors still show.
    """
    if _loading is not None:
        _loading.join()
    gx = _import_gx()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return gx, context


@dataclass
class GateRun:
    results: list[CheckResult]
    data_docs: list[str]

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if not r.success and r.severity == "critical"]


def _add_docs_site(context, data_docs_dir: Path) -> None:
    context.add_data_docs_site(
        site_name=DOCS_SITE,
        site_config={
            "class_name": "SiteBuilder",
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(data_docs_dir)},
        },
    )


GATE_CONNECTIONS = 2  # a gate's checks run on this many connections at once (the validation keeps one: Data Docs)


def run_expectations(
    target: DbTarget,
    spec: Spec,
    suite_name: str,
    expectations: list[dict],
    data_docs_dir: Path | None = None,
    connections: int = 1,
) -> GateRun:
    """Validate the expectations with GX Core; every query runs in the database.

    With `connections` > 1 the checks are dealt round-robin to that many GX checkpoints (each its own
    ephemeral context and connection), run side by side: a gate's checks are independent reads, each
    waiting on the database, and one connection left the server's other cores idle. Data Docs need one
    checkpoint, so a run that builds them keeps one connection.
    """
    shares = 1 if data_docs_dir is not None else max(1, min(connections, len(expectations)))
    groups = [expectations[i::shares] for i in range(shares)]
    # contexts are built here, one after the other (GX's set-up is not meant to be raced); only runs overlap
    checkpoints = [_checkpoint(target, spec, suite_name, group, data_docs_dir) for group in groups]
    # GX print()s a hint for checks without {batch} while validating; sys.stdout is one for all threads, so
    # it is swapped here, once, never inside a checkpoint's thread (two swaps racing lose the real stdout)
    with contextlib.redirect_stdout(io.StringIO()):
        if shares == 1:
            runs = [checkpoints[0]()]
        else:
            with ThreadPoolExecutor(max_workers=shares, thread_name_prefix=f"gate-{suite_name}") as pool:
                runs = list(pool.map(lambda run: run(), checkpoints))
    order = {e["check"]: i for i, e in enumerate(expectations)}
    results = sorted((r for run in runs for r in run.results), key=lambda r: order[r.check])
    return GateRun(results=results, data_docs=[url for run in runs for url in run.data_docs])


def _checkpoint(target: DbTarget, spec: Spec, suite_name: str, expectations: list[dict], data_docs_dir):
    """One GX checkpoint over `expectations` (a suite per asset); returns a call that runs it."""
    gx, context = _quiet_gx()
    from great_expectations.checkpoint import UpdateDataDocsAction
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    if data_docs_dir is not None:
        _add_docs_site(context, data_docs_dir)
    datasource = context.data_sources.add_sql(
        name="tenant_db", connection_string=target.sqlalchemy_url().render_as_string(hide_password=False)
    )
    tables = {"target": spec.target.table, "tenant_table": spec.tenant_table.table}
    definitions, chosen_by_suite = [], {}
    for asset_name in dict.fromkeys(e["asset"] for e in expectations):
        asset = datasource.add_table_asset(name=tables[asset_name], table_name=tables[asset_name])
        batch_definition = asset.add_batch_definition_whole_table("whole_table")
        suite = gx.ExpectationSuite(name=f"{spec.name}.{suite_name}.{asset_name}")
        chosen = [e for e in expectations if e["asset"] == asset_name]
        for e in chosen:
            meta = {"check": e["check"], "severity": e["severity"]}
            config = ExpectationConfiguration(
                type=e["type"], kwargs=e["kwargs"], meta=meta, description=e["description"] or None
            )
            with contextlib.redirect_stdout(io.StringIO()):  # GX print()s a hint for checks without {batch}
                # add_expectation_configuration would replace same-type expectations on the same domain
                suite.add_expectation(config.to_domain_obj())
        suite = context.suites.add(suite)
        chosen_by_suite[suite.name] = (chosen, tables[asset_name])
        definitions.append(
            context.validation_definitions.add(
                gx.ValidationDefinition(name=suite.name, data=batch_definition, suite=suite)
            )
        )
    actions = [UpdateDataDocsAction(name="data_docs", site_names=[DOCS_SITE])] if data_docs_dir is not None else []
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name=f"{spec.name}.{suite_name}",
            validation_definitions=definitions,
            actions=actions,
            result_format="COMPLETE",
        )
    )

    def run() -> GateRun:
        try:
            outcome = checkpoint.run()  # the caller holds stdout (run_expectations)
        finally:
            # GX keeps the datasource's SQLAlchemy engine, whose pool holds its connections open after the run:
            # every gate left a few idle connections until its process ended (a worker running many gates, or
            # four test workers, reached the server's max_connections). The gate is done with them.
            _close_connections(context)
        results: list[CheckResult] = []
        docs: list[str] = []
        for identifier, suite_result in outcome.run_results.items():
            chosen, table = chosen_by_suite[suite_result.suite_name]
            for e, res in zip(chosen, _in_suite_order(suite_result, chosen), strict=True):
                results.append(_check_result(e, res, table))
            if data_docs_dir is not None:
                docs += [
                    u["site_url"]
                    for u in context.get_docs_sites_urls(resource_identifier=identifier, site_name=DOCS_SITE)
                ]
        return GateRun(results=results, data_docs=docs)

    return run


def _close_connections(context) -> None:
    """Close the pooled connections of every SQLAlchemy engine the context's data sources made (the data source's
    own and its execution engine's, which GX builds apart)."""
    for datasource in context.data_sources.all().values():
        # the engines it made, read as they are: get_engine() would build one only to close it
        engines = [
            getattr(datasource, "_engine", None),
            getattr(getattr(datasource, "_execution_engine", None), "engine", None),
        ]
        for engine in engines:
            if engine is not None:
                with contextlib.suppress(Exception):
                    engine.dispose()


def _in_suite_order(outcome, chosen: list[dict]):
    by_check = {r.expectation_config.meta.get("check"): r for r in outcome.results}
    return [by_check[e["check"]] for e in chosen]


def _exception_message(info: dict) -> str | None:
    """GX's exception_info is flat for an expectation's own error, keyed by metric for a failed query."""
    if "exception_message" in info:
        return info["exception_message"]
    nested = [v.get("exception_message") for v in info.values() if isinstance(v, dict)]
    return next((m for m in nested if m), None)


def _check_result(e: dict, res, table: str) -> CheckResult:
    exception = _exception_message(res.exception_info or {})
    result = res.result or {}
    observed = result.get("observed_value")
    sample: list = []
    first_bad = None
    if exception:
        observed = f"error: {exception}"
    elif e["type"] == COUNTED_ONCE:
        rows = (result.get("details") or {}).get("unexpected_rows") or []
        ids = [row.get("row_id", next(iter(row.values()), None)) for row in rows]
        sample = list(dict.fromkeys(ids))[:SAMPLE_SIZE]  # one id per offending row, each named once
        first_bad = rows[0].get("first_bad_created_at") if rows else None
    elif "partial_unexpected_list" in result:
        observed = result.get("unexpected_count", observed)
        sample = list(result.get("partial_unexpected_list") or [])[:SAMPLE_SIZE]
    return CheckResult(
        check=e["check"],
        table=table,
        success=bool(res.success) and not exception,
        observed=observed,
        sample=sample,
        description=e["description"],
        severity=e["severity"],
        first_bad_created_at=first_bad,
    )


def run_gate(target: DbTarget, spec: Spec, phase: str, **sql_values) -> list[CheckResult]:
    """Run the suite expectations/<phase>.json; raise GateFailed naming every failed expectation."""
    expectations = expand_suite(load_suite_template(phase), spec, **sql_values)
    results = run_expectations(target, spec, phase, expectations, connections=GATE_CONNECTIONS).results
    for r in results:
        log.info(
            "gate %s / %s on %s: %s (observed %s)", phase, r.check, r.table, "ok" if r.success else "FAILED", r.observed
        )
    failures = [r.as_dict() for r in results if not r.success and r.severity == "critical"]
    if failures:
        raise GateFailed(spec.name, phase, failures)
    return results
