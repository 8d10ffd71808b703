"""The Airflow plugin of tenant_integrity: the operator page in the UI and extra links on tenant_backfill's tasks.

- fastapi_apps: tenant_integrity.ui.app mounted at /tenant-integrity on Airflow's API server (built on
  first use, so the scheduler, the DAG processor and task processes that load plugins never import it);
- external_views: a "Tenant integrity" entry in the UI's navigation that shows that page inside the UI;
- global_operator_extra_links: "Run report", "Review CSV" and "Data Docs" buttons on the tasks of
  tenant_backfill runs, pointing at the page. Every other DAG's tasks get no link (an empty URL is not shown);
- on_load: creates tenant_backfill's writer pool where it is missing (tenant_integrity.tasks.pools), in every component
  that has the metadata database, so a fresh Airflow runs the DAGs without a set-up script;
- listeners: the scheduler fails a real tenant_backfill run at once, naming the command, when that pool is gone.

Airflow finds the class two ways: from the plugins folder (repository layout: plugins/tenant_integrity_plugin.py
re-exports it) or, when the package is installed as a wheel, from the `airflow.plugins` entry point
tenant_integrity = tenant_integrity.plugin:TenantIntegrityPlugin (pyproject.toml). Never both: the plugins-folder
file binds the class only when that entry point is not installed (Airflow would skip the second one by name and
report it as a plugin import error).
"""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import quote

from airflow.plugins_manager import AirflowPlugin
from airflow.sdk import BaseOperatorLink

from tenant_integrity.core import settings
from tenant_integrity.tasks import pools

RESOLVE_SPECS = "resolve_specs"  # the task whose return value lists the run's specs in map-index order


ENTRY_POINT_GROUP = "airflow.plugins"
ENTRY_POINT_NAME = "tenant_integrity"


def registered_by_entry_point() -> bool:
    """Whether an installed distribution registers this plugin through the `airflow.plugins` entry point."""
    from importlib.metadata import entry_points

    return any(
        ep.value.startswith("tenant_integrity.plugin:")
        for ep in entry_points(group=ENTRY_POINT_GROUP, name=ENTRY_POINT_NAME)
    )


def spec_of(dag_id: str, run_id: str, map_index: int) -> str | None:
    """The spec a task instance of a tenant_backfill run works on: its map index in the run's spec order
    (resolve_specs' return value); a task outside the mapped group only when the run has one spec."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.scalars(
            XComModel.get_many(run_id=run_id, key="return_value", dag_ids=dag_id, task_ids=RESOLVE_SPECS, limit=1)
        ).first()
        order = XComModel.deserialize_value(row) if row is not None else None
    if not isinstance(order, list) or not order:
        return None
    index = map_index if map_index >= 0 else (0 if len(order) == 1 else None)
    if index is None or index >= len(order) or not isinstance(order[index], dict):
        return None
    return order[index].get("spec")


def page_url(spec: str, run_id: str, target: str) -> str:
    """<[api] base_url>/tenant-integrity/runs/<spec>/<run_id>/<target> (a path from the server root without base_url)."""
    from airflow.configuration import conf

    base = (conf.get("api", "base_url", fallback="") or "").rstrip("/")
    return f"{base}{settings.OPERATOR_PAGE_PREFIX}/runs/{quote(spec, safe='')}/{quote(run_id, safe='')}/{target}"


class _RunPageLink(BaseOperatorLink):
    target = ""

    def get_link(self, operator, *, ti_key) -> str:
        if ti_key.dag_id != settings.BACKFILL_DAG:
            return ""
        spec = spec_of(ti_key.dag_id, ti_key.run_id, ti_key.map_index)
        return page_url(spec, ti_key.run_id, self.target) if spec else ""


class RunReportLink(_RunPageLink):
    name = "Run report"
    target = "report"


class ReviewCsvLink(_RunPageLink):
    name = "Review CSV"
    target = "review.csv"


class DataDocsLink(_RunPageLink):
    name = "Data Docs"
    target = "data-docs"


class TenantIntegrityPlugin(AirflowPlugin):
    name = "tenant_integrity"
    external_views: ClassVar[list] = [
        {
            "name": "Tenant integrity",
            "href": "tenant-integrity/",  # relative to the UI's base URL
            "url_route": "tenant-integrity",  # shown inside the UI (an iframe) at /plugin/tenant-integrity
            "destination": "nav",
            "icon": "tenant-integrity/icon.svg",
            "nav_top_level": True,
        }
    ]
    global_operator_extra_links: ClassVar[list] = [RunReportLink(), ReviewCsvLink(), DataDocsLink()]
    listeners: ClassVar[list] = [pools.pool_guard]

    @classmethod
    def on_load(cls, *args, **kwargs):
        """Airflow calls this once per process that loads plugins: create the writer pool where it is missing."""
        pools.ensure_on_load()

    @property
    def fastapi_apps(self) -> list[dict]:
        from tenant_integrity.ui.app import app

        return [{"app": app, "url_prefix": settings.OPERATOR_PAGE_PREFIX, "name": "Tenant integrity"}]
