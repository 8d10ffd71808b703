"""Approval between plan and apply: Airflow 3's human-in-the-loop ApprovalOperator, asked only when wanted.

With the run's param `approval` true, a real run stops after preflight and shows the spec's plan in the
UI (Required Actions, or the task's page) with Approve / Reject. Approve: the writes go on. Reject: this
task skips, and with it every later task of the spec: nothing is written. Without `approval` (the
default), or in a dry run, the task succeeds at once and asks nobody.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator, HITLOperator

PREFLIGHT = "preflight"  # the task in the same map index whose plan is shown


class PlanApproval(ApprovalOperator):
    """Ask a person to approve one spec's plan (in a mapped task group: the plan of the same map index)."""

    def __init__(self, *, preflight_task_id: str, **kwargs) -> None:
        super().__init__(subject="tenant_backfill: approve the plan", **kwargs)
        self.preflight_task_id = preflight_task_id

    def execute(self, context):
        params = context["params"]
        if params.get("dry_run", True) or not params.get("approval", False):
            self.log.info("no approval asked (param approval is off, or a dry run): the run goes on")
            return None
        from tenant_integrity.core.spec import load_spec
        from tenant_integrity.repair import formatting
        from tenant_integrity.repair.results import Plan

        ti = context["ti"]
        plan = Plan.from_dict(ti.xcom_pull(task_ids=self.preflight_task_id, map_indexes=ti.map_index))
        self.subject = (
            f"tenant_backfill: approve {plan.planned_changes} change(s) to {plan.table} "
            f"(spec {plan.spec}, run {plan.run_id})"
        )
        # Markdown: the plan as the dry run prints it, one list item a line (the UI keeps no code block's lines)
        lines = formatting.format_plan(plan, load_spec(plan.spec)).splitlines()
        self.body = "\n".join([f"**{lines[0]}**", ""] + [f"- {line.strip()}" for line in lines[1:]]) + (
            "\n\nApprove writes exactly this; Reject writes nothing."
        )
        return super().execute(context)

    def execute_complete(self, context, event: dict[str, Any]) -> Any:
        response = HITLOperator.execute_complete(self, context=context, event=event)
        chosen = response["chosen_options"][0]
        self.hitl_summary_extra["approved"] = chosen == self.APPROVE
        who = (response.get("responded_by_user") or {}).get("name", "?")
        if chosen == self.APPROVE:
            self.log.info("plan approved by %s: the run goes on", who)
            return response
        from airflow.sdk.exceptions import AirflowSkipException

        from tenant_integrity.core.spec import load_spec
        from tenant_integrity.repair import run_registry
        from tenant_integrity.repair.results import Plan
        from tenant_integrity.store.db import DbTarget

        ti = context["ti"]
        plan = Plan.from_dict(ti.xcom_pull(task_ids=self.preflight_task_id, map_indexes=ti.map_index))
        spec = load_spec(plan.spec)
        run_registry.reject_run(DbTarget.from_airflow(spec.conn_id), spec, plan, who)
        # a skip, not SkipMixin.skip: that does not reach the later tasks of a mapped task group
        raise AirflowSkipException(f"plan rejected by {who}: nothing is written for this spec")
