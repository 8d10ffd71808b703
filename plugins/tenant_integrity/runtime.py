"""Glue between Airflow task context and the package: params in, spec + database + run out.

Airflow is imported lazily so the rest of the package stays testable without a scheduler.
"""

from __future__ import annotations

import contextlib
import logging

from tenant_integrity.db import DbTarget
from tenant_integrity.errors import ParamError, SpecError, TenantIntegrityError
from tenant_integrity.phases import RunContext
from tenant_integrity.spec import Spec, load_spec, spec_names

log = logging.getLogger(__name__)
DEFAULT_SPEC = "customers_company"


def available_specs() -> list[str]:
    """Spec names for the trigger form's enum (file names only: no parsing, no DB at parse time)."""
    return spec_names() or [DEFAULT_SPEC]


def evidence_names_in_priority_order() -> list[str]:
    """The evidence sources of every loadable spec, merged in priority order, for the DAG's task list.

    A spec that does not load is left out here (its preflight will report why) so that one broken
    file cannot hide the DAG.
    """
    names: list[str] = []
    for spec_name in spec_names():
        try:
            spec = load_spec(spec_name)
        except SpecError as exc:
            log.warning("spec %s left out of the task list: %s", spec_name, exc)
            continue
        for source in spec.evidence:
            if source.name not in names:
                names.append(source.name)
    return names


def task_inputs(params: dict, run_id: str, dag_id: str) -> tuple[Spec, DbTarget, RunContext]:
    """Validate the params of a triggered run and resolve its spec and database."""
    unknown = set(params) - {"spec", "dry_run", "batch_size"}
    if unknown:
        raise ParamError(f"unknown params {sorted(unknown)} (known: spec, dry_run, batch_size)")
    spec = load_spec(params.get("spec", DEFAULT_SPEC))
    ctx = RunContext(
        run_id=run_id,
        dry_run=params.get("dry_run", True),
        batch_size=params.get("batch_size", 1000),
        dag_id=dag_id,
    )
    return spec, DbTarget.from_airflow(spec.conn_id), ctx


@contextlib.contextmanager
def failing_fast_on_user_errors():
    """Turn errors a retry cannot fix (bad spec, bad params, failed gate) into AirflowFailException.

    Connection losses, lock waits and ChunkError stay ordinary exceptions: Airflow retries those.
    """
    from airflow.sdk.exceptions import AirflowFailException

    try:
        yield
    except TenantIntegrityError as exc:
        if exc.retryable:
            raise
        raise AirflowFailException(str(exc)) from exc


def log_task_failure(context) -> None:
    """on_failure_callback: one line naming the DAG, task, run and the error, for the log and alerts."""
    ti = context.get("task_instance") or context.get("ti")
    log.error(
        "tenant_integrity task failed: dag %s, task %s, run %s: %s",
        getattr(ti, "dag_id", "?"),
        getattr(ti, "task_id", "?"),
        context.get("run_id"),
        context.get("exception"),
    )
