"""The Airflow pool tenant_backfill's writing tasks share: created wherever the DAGs run, checked when a run starts.

Every task of tenant_backfill that writes to the target database takes a slot of its connection's pool
(settings.writer_pool: `tenant_writers_tenant_db`, settings.WRITER_POOL_SLOTS slots). Airflow creates no pool by
itself, and a task of a pool that does not exist waits in `scheduled` forever (the scheduler only logs "Tasks
using non-existent pool ... will not be scheduled"). So, with no script to run first:

- `ensure()`: the plugin (tenant_integrity.plugin) creates each missing writer pool when Airflow loads it in a
  component that has the metadata database (scheduler, DAG processor, triggerer and API server all load plugins
  when they start; so do CLI commands that need them). A pool that exists is left as it is: its slots are the
  operator's. `$TENANT_WRITER_POOL_SLOTS` sets the slots of a pool created here (as scripts/airflow_local.sh).
- `PoolGuard`: a listener the scheduler calls when a DAG run starts. A real (not dry) tenant_backfill run whose
  writer pool is missing then (deleted after the components started) fails at once, its note and the scheduler's
  log naming the command that creates the pool, instead of leaving its writers `scheduled` with nothing saying why.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys

from airflow.listeners import hookimpl

from tenant_integrity.core import settings

log = logging.getLogger(__name__)

SLOTS_ENV = "TENANT_WRITER_POOL_SLOTS"
# the pools tenant_backfill's writing tasks take a slot of (dags/tenant_backfill.py: WRITERS)
WRITER_POOLS = (settings.writer_pool(settings.TENANT_CONN_ID),)
BLOCKED_DB = "airflow-db-not-allowed"  # the database URL the Task SDK sets in task processes (no metadata database)


def slots() -> int:
    """The slots of a writer pool created here: $TENANT_WRITER_POOL_SLOTS, else settings.WRITER_POOL_SLOTS."""
    value = os.environ.get(SLOTS_ENV, "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    return settings.WRITER_POOL_SLOTS


def description(pool: str) -> str:
    return f"tenant_integrity writers on connection {pool.removeprefix('tenant_writers_')}"


def create_command(pool: str) -> str:
    """The command that creates the pool by hand."""
    return f'airflow pools set {pool} {slots()} "{description(pool)}"'


def has_metadata_db() -> bool:
    """False in a task process (the Task SDK talks to the API server and blocks the metadata database there)."""
    runner = sys.modules.get("airflow.sdk.execution_time.task_runner")
    if getattr(runner, "SUPERVISOR_COMMS", None) is not None:
        return False
    from airflow.configuration import conf

    return not (conf.get("database", "sql_alchemy_conn", fallback="") or "").startswith(BLOCKED_DB)


def missing(session, pools=WRITER_POOLS) -> list[str]:
    """The pools of `pools` that do not exist in this Airflow's metadata database."""
    from airflow.models.pool import Pool
    from sqlalchemy import select

    found = set(session.scalars(select(Pool.pool).where(Pool.pool.in_(list(pools)))))
    return [p for p in pools if p not in found]


def ensure(pools=WRITER_POOLS) -> list[str]:
    """Create each pool of `pools` that does not exist yet; never change one that does. Returns the created ones.

    Components starting at the same time may both find a pool missing: the second insert fails on the pool's
    unique name and the pool is there, which is all that counts.
    """
    from airflow.models.pool import Pool

    created = []
    for pool in pools:
        try:
            with own_session() as session:
                if not missing(session, (pool,)):
                    continue
                session.add(Pool(pool=pool, slots=slots(), description=description(pool), include_deferred=False))
                session.commit()
            created.append(pool)
            log.info("tenant_integrity: created pool %s with %d slot(s)", pool, slots())
        except Exception as exc:  # another component created it meanwhile, or no metadata database (yet)
            with own_session() as session:
                if missing(session, (pool,)):
                    raise RuntimeError(f"pool {pool} not created ({exc}); create it: {create_command(pool)}") from exc
    return created


@contextlib.contextmanager
def own_session():
    """A metadata-database session of our own, not Airflow's scoped one: plugins load lazily, e.g. inside
    `airflow dags test` while it writes the parsed DAGs in the scoped session, and committing or closing that
    session there would detach its objects (DetachedInstanceError on a fresh metadata database)."""
    from airflow import settings as airflow_settings

    session = airflow_settings.Session.session_factory()
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def ensure_on_load() -> None:
    """The plugin's on_load: create missing writer pools where there is a metadata database; never fail the load."""
    if not has_metadata_db():
        return
    try:
        ensure()
    except Exception as exc:  # e.g. `airflow db migrate` on an empty database loads plugins before the tables exist
        log.warning("tenant_integrity: writer pools not checked: %s", exc)


class PoolGuard:
    """Listener: a real tenant_backfill run that starts without its writer pool fails at once and says why."""

    @hookimpl
    def on_dag_run_running(self, dag_run, msg: str) -> None:
        if dag_run.dag_id != settings.BACKFILL_DAG or (dag_run.conf or {}).get("dry_run", True) is not False:
            return  # a dry run writes nothing: its writing tasks are skipped, no pool slot needed
        from airflow.utils.state import DagRunState
        from sqlalchemy.orm import object_session

        session = object_session(dag_run)
        if session is None:
            return
        absent = missing(session)
        if not absent:
            return
        reason = (
            f"tenant_backfill's writing tasks need the pool {', '.join(absent)}, which does not exist in this "
            f"Airflow: they would wait in 'scheduled' forever. Create it, then trigger the run again: "
            + "; ".join(create_command(p) for p in absent)
        )
        log.error("tenant_integrity: run %s of %s failed: %s", dag_run.run_id, dag_run.dag_id, reason)
        dag_run.set_state(DagRunState.FAILED)
        dag_run.note = f"{reason}\n\n{dag_run.note}" if dag_run.note else reason


pool_guard = PoolGuard()
