"""The operator page's calls to Airflow: run states and pause flags from the metadata database, and the REST API
calls it makes as the caller (trigger, unpause), with the caller's own token and same-origin check."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import HTTPException, Request

from tenant_integrity.core.settings import OPERATOR_PAGE_PREFIX

FINISHED_AIRFLOW_STATES = {"success", "failed"}


def airflow_run_states(runs: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(dag_id, run_id) -> the DAG run's state in this Airflow's metadata database (missing: unknown here)."""
    if not runs:
        return {}
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select, tuple_

    with create_session() as session:
        found = session.execute(
            select(DagRun.dag_id, DagRun.run_id, DagRun.state).where(
                tuple_(DagRun.dag_id, DagRun.run_id).in_(sorted(runs))
            )
        )
        return {(d, r): str(getattr(s, "value", s)) for d, r, s in found}


def airflow_dag_run(dag_id: str, run_id: str) -> dict | None:
    """A DAG run as this Airflow's metadata database has it: state, conf, who triggered it; None if unknown."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        found = session.scalars(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)).first()
        if found is None:
            return None
        return {
            "dag_run_id": found.run_id,
            "state": str(getattr(found.state, "value", found.state)),
            "conf": dict(found.conf or {}),
            "triggering_user_name": found.triggering_user_name,
        }


def airflow_dag_paused(dag_id: str) -> bool | None:
    """Whether the DAG is paused in this Airflow (a run of a paused DAG waits in `queued`); None: no such DAG here."""
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return session.scalar(select(DagModel.is_paused).where(DagModel.dag_id == dag_id))


def may_edit_dag(user, dag_id: str) -> bool:
    """Whether the user may edit the DAG (pause, unpause): Airflow's auth manager decides, as for the REST API's PATCH."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails
    from airflow.models.dag import DagModel

    details = DagDetails(id=dag_id, team_name=DagModel.get_team_name(dag_id))
    return get_auth_manager().is_authorized_dag(method="PUT", details=details, user=user)


@dataclass
class TriggeredDag:
    """A DAG the page triggers, as the form shows it: paused (its run would wait in `queued`), and may the user
    unpause it."""

    dag_id: str
    paused: bool | None  # None: no such DAG in this Airflow (the REST API says so when triggered)
    may_unpause: bool


def triggered_dag(dag_id: str, user) -> TriggeredDag:
    paused = airflow_dag_paused(dag_id)
    return TriggeredDag(dag_id, paused, bool(paused) and may_edit_dag(user, dag_id))


def caller_token(request: Request) -> str:
    """The caller's own Airflow token: the REST API decides with the caller's permissions, not the page's."""
    from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN

    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(COOKIE_NAME_JWT_TOKEN, "")


def require_same_origin(request: Request) -> None:
    """A form post from another site is refused (the session cookie is SameSite=Lax; this checks Origin too)."""
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host"):
        raise HTTPException(403, "cross-site request refused")


def airflow_api_base(request: Request) -> str:
    """Where this server's REST API answers: [api] base_url, else the host the request came to."""
    from airflow.configuration import conf

    base = (conf.get("api", "base_url", fallback="") or "").rstrip("/")
    if base:
        return base
    root = request.scope.get("root_path", "").removesuffix(OPERATOR_PAGE_PREFIX)
    return f"{request.url.scheme}://{request.url.netloc}{root}"


def answer_detail(answer) -> str:
    """What Airflow's REST API said about a refused request."""
    try:
        detail = answer.json().get("detail", answer.text)
    except (ValueError, AttributeError):
        detail = answer.text
    return detail if isinstance(detail, str) else json.dumps(detail, indent=2)
