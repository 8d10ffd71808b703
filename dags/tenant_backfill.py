"""
# tenant_backfill

Repairs rows whose **tenant key is NULL** (the seed incident: `customers.company_id` on 31 of 60
rows), as the chosen specs in `include/specs/` describe. Trigger it from the UI with:

| param | meaning |
| --- | --- |
| `spec` | which remediation target (a file name in `include/specs/`) |
| `specs` | several at once: names, or `["all"]` (parents first, the others in parallel); empty: `spec` |
| `dry_run` | **true by default**: profile + review preview only, nothing written to the database |
| `approval` | a real run asks a person to approve each spec's plan after preflight (default false) |
| `batch_size` | rows in the first chunk; each chunk is one short transaction |
| `chunk_seconds` | target time per chunk (default 0.25 s): the chunk size adapts to it |
| `workers` | connections walking disjoint key ranges at once (default 2; 1 = strictly in key order) |
| `max_replica_lag_s` | the writers wait while a replica in `TENANT_THROTTLE_REPLICAS` lags more (default 1.0) |

`resolve_specs` orders the specs: one whose `parent` evidence reads another spec's table waits for it.
Each spec then runs in its own map index of the group `repair` (the DAG's shape does not follow the spec
files), with its own gates, review CSV, audit and rollback; a failed spec ends the specs that read it,
not its independent siblings. The writing tasks share the pool `tenant_writers_tenant_db` (2 slots).
Tasks of one spec, each stopping it when its GX gate fails:

0. `wait_for_parents` — a reschedule-mode sensor: starts the spec once its parent specs passed.
1. `preflight` — validate the spec against the live schema, GX gate (tenants exist; the key must be a primary key or unique index),
   profile every NULL row: which evidence source resolves it, conflicts, orphans, and parent/child
   mismatches older than the run (named, not blocking). A dry run ends here with `plan.json` and
   `review_preview.csv` in `<spec>/<run_id>/` of the storage base (`$TENANT_STORAGE_URL`, default
   `$TENANT_REVIEW_DIR`); the real run does what it says.
   `approve_plan` then waits for a person when `approval` is on (Reject writes nothing).
2. `backup` — makes `tenant_backup_<table>` hold every column of the target; each write chunk then
   copies its rows' pre-images into it, in the transaction that changes them, before the change.
3. `backfill` — every evidence source in the spec's priority order (one task, whatever the spec); chunked, guarded
   (`… and tenant is null`), backed up and audited in the same transaction. A row whose sources name
   several tenants, or whose relation rows carry another tenant, is never written.
4. `detect_conflicts` — those rows go to review (read after the backfills: only undecided rows are left).
5. `export_review` — `review.csv` for the rows a person must decide.
6. `soft_delete_orphans` — rows with no related row in any evidence or relation table, as the spec's
   `orphans` section says (`soft_delete`, or `review`: then they went to review in step 5).
7. `post_validation` — GX gate: no active NULL outside review, no parent/child mismatch on a row the
   run wrote (older ones, as preflight found them, are listed as warnings), no row lost, every tenant the run
   wrote exists, no other column of a written row differs from its backup, audit = changes = backups.
   Prints the run summary.

After every spec: `announce_repaired_tables` updates the asset of each table whose `post_validation` passed
(a real run only), which starts `tenant_validation_daily` once; `fail_if_a_spec_failed` fails the run when a
spec did not pass. Deadlines: every task 12 h (the approval waits for its person), the run 4 days
(`TENANT_DAG_TIMEOUTS`).

Pause, resume or cancel between two chunks with `python -m tenant_integrity pause|resume|cancel`.
Undo a run with `tenant_rollback`; import review decisions with `tenant_review_import`.
"""

from __future__ import annotations

from airflow.sdk import AssetAlias, Param, dag, get_current_context, task, task_group

from tenant_integrity.core import settings
from tenant_integrity.tasks.approval import PlanApproval
from tenant_integrity.tasks.runtime import REPAIRED_TABLES, operator_params, project_dag

# every task that writes to the target database takes a slot of its connection's pool
WRITERS = settings.writer_pool(settings.TENANT_CONN_ID)
REPAIR = "repair"  # the mapped task group: one map index per spec, in run order
# the UI names each map index by its spec (repair.backfill [calls_company], not [1]): each task of the group
# puts its spec in the context (_name_map_index), which Airflow renders this template with
NAMED_BY_SPEC = "{{ tenant_spec }}"
REPAIR_TASKS = (
    "wait_for_parents",
    "preflight",
    "stop_if_dry_run",
    "approve_plan",
    "backup",
    "backfill",
    "detect_conflicts",
    "export_review",
    "soft_delete_orphans",
    "post_validation",
)


def _name_map_index(spec_name: str) -> None:
    get_current_context()["tenant_spec"] = spec_name


def _run(item: dict, phase, plan: dict | None = None, *args):
    """Resolve params, this map index's spec and the database, then call the package's phase; fail fast
    on user errors.

    The plan crosses XComs as a dict and reaches the phase as the Plan it was; the phase's typed result
    goes back to the task, which hands it on as a dict.
    """
    from tenant_integrity.repair.results import Plan
    from tenant_integrity.tasks.runtime import failing_fast_on_user_errors, task_inputs

    context = get_current_context()
    _name_map_index(item["spec"])
    with failing_fast_on_user_errors():
        spec, target, ctx = task_inputs(
            dict(context["params"]),
            context["run_id"],
            context["dag"].dag_id,
            frozenset({"specs", "approval"}),
            item["spec"],
        )
        typed_plan = () if plan is None else (Plan.from_dict(plan),)
        return phase(target, spec, ctx, *typed_plan, *args)


@dag(
    **project_dag("tenant_backfill", __doc__, retries=2),
    params=operator_params(
        dry_run_description="Only profile and preview the review CSV; write nothing to the database. Turn off to repair.",
        batch_description="Rows in the first chunk. Every chunk is one short transaction with its backup and audit rows.",
        approval=Param(
            False,
            type="boolean",
            title="Approval",
            description="A real run stops after preflight and asks for approval of each spec's plan in the UI "
            "(Required Actions); Reject writes nothing.",
        ),
        specs=Param(
            [],
            type="array",
            items={"type": "string"},
            title="Specs",
            description='Several specs in one run (their names, or ["all"]): parents first, the others in '
            "parallel. Empty: the one spec above.",
        ),
        chunk_seconds=Param(
            settings.CHUNK_SECONDS_DEFAULT,
            type="number",
            minimum=settings.CHUNK_SECONDS_MIN,
            maximum=settings.CHUNK_SECONDS_MAX,
            title="Chunk seconds",
            description="Target time of one chunk transaction: the chunk size adapts to it (batch_size is the start).",
        ),
        workers=Param(
            settings.WORKERS_DEFAULT,
            type="integer",
            minimum=settings.WORKERS_MIN,
            maximum=settings.WORKERS_MAX,
            title="Workers",
            description="Connections that walk disjoint key ranges of the NULL rows at the same time, each "
            "with its own short chunk transactions. The throttle pauses each of them.",
        ),
        max_replica_lag_s=Param(
            settings.MAX_REPLICA_LAG_S_DEFAULT,
            type="number",
            minimum=settings.MAX_REPLICA_LAG_S_MIN,
            maximum=settings.MAX_REPLICA_LAG_S_MAX,
            title="Max replica lag (s)",
            description="The writers pause while a replica in TENANT_THROTTLE_REPLICAS lags more than this "
            "(heartbeat age or Seconds_Behind_Master); a replica whose lag cannot be read stops the run.",
        ),
    ),
)
def tenant_backfill():
    @task
    def resolve_specs() -> list[dict]:
        """The specs of this run (param specs, else spec), parents before the specs whose evidence reads them."""
        from tenant_integrity.core import run_order
        from tenant_integrity.tasks.runtime import failing_fast_on_user_errors

        params = get_current_context()["params"]
        with failing_fast_on_user_errors():
            order = run_order.resolve(params.get("spec"), params.get("specs"))
        print(run_order.format_order(order))  # the task output a person reads in the UI
        return [o.to_dict() for o in order]

    @task_group(group_id=REPAIR)
    def repair(item: dict):
        """One spec's run: its own gates, review CSV, audit and rollback; map index = its place in the order."""

        @task.sensor(
            mode="reschedule",
            poke_interval=settings.PARENT_POKE_INTERVAL_S,
            timeout=24 * 3600,
            map_index_template=NAMED_BY_SPEC,
        )
        def wait_for_parents(item: dict):
            """Wait until the specs this one reads as parents passed their post_validation in this run.

            A parent that failed ends this spec too (its evidence would read unrepaired tenants); a dry
            run does not wait: nothing is written, each spec plans on the data as it is.
            """
            from airflow.sdk import PokeReturnValue

            from tenant_integrity.core import run_order

            context = get_current_context()
            _name_map_index(item["spec"])
            if context["params"].get("dry_run", True) or not item["waits_for"]:
                return PokeReturnValue(is_done=True)
            states = context["ti"].get_task_states(
                dag_id=context["dag"].dag_id,
                run_ids=[context["run_id"]],
                task_ids=[f"{REPAIR}.{t}" for t in REPAIR_TASKS],
            )
            wait = run_order.parents_state(item, states.get(context["run_id"], {}), f"{REPAIR}.post_validation")
            print(wait.message)
            if wait.failed:
                from airflow.sdk.exceptions import AirflowFailException

                raise AirflowFailException(wait.message)
            return PokeReturnValue(is_done=wait.done)

        @task(map_index_template=NAMED_BY_SPEC)
        def preflight(item: dict) -> dict:
            """Validate the spec against the live schema, run the preflight gate, profile every NULL row: the plan."""
            from tenant_integrity.repair import phases

            return _run(item, phases.preflight).to_dict()

        @task(map_index_template=NAMED_BY_SPEC)
        def stop_if_dry_run(plan: dict) -> None:
            """A dry run ends after the plan: this task skips, and with it every later task of this spec.

            (A skip, not a short-circuit: Airflow's short-circuit does not skip inside a mapped task group.
            The writing phases refuse a dry run's plan themselves too.)
            """
            _name_map_index(plan["spec"])
            if plan["dry_run"]:
                from airflow.sdk.exceptions import AirflowSkipException

                raise AirflowSkipException("dry run: the plan is the outcome; nothing is written")

        @task(pool=WRITERS, map_index_template=NAMED_BY_SPEC)
        def backup(item: dict, plan: dict) -> dict:
            """Make the backup table hold every target column; the write chunks copy each row's pre-image into it."""
            from tenant_integrity.repair import phases

            return _run(item, phases.backup, plan).to_dict()

        @task(pool=WRITERS, map_index_template=NAMED_BY_SPEC)
        def backfill(item: dict, plan: dict) -> dict:
            """Write the tenants the evidence decides, one source after another in the spec's priority order.

            One task whatever the spec (its sources are in the plan, not in the DAG's shape): each source's
            progress is in this task's log, and a retry resumes each source after its checkpoint.
            """
            from tenant_integrity.repair import phases

            return _run(item, phases.backfill_in_priority_order, plan).to_dict()

        @task(pool=WRITERS, map_index_template=NAMED_BY_SPEC)
        def detect_conflicts(item: dict, plan: dict) -> dict:
            """Queue the rows whose sources or relation rows disagree for review; they are never written."""
            from tenant_integrity.repair import phases

            return _run(item, phases.detect_conflicts, plan).to_dict()

        @task(pool=WRITERS, map_index_template=NAMED_BY_SPEC)
        def export_review(item: dict, plan: dict) -> dict:
            """Queue the rows a person must decide and write review.csv."""
            from tenant_integrity.repair import phases

            return _run(item, phases.export_review, plan).to_dict()

        @task(pool=WRITERS, map_index_template=NAMED_BY_SPEC)
        def soft_delete_orphans(item: dict, plan: dict) -> dict:
            """Soft-delete (or send to review, per the spec) active rows nothing points to."""
            from tenant_integrity.repair import phases

            return _run(item, phases.soft_delete_orphans, plan).to_dict()

        @task(map_index_template=NAMED_BY_SPEC)
        def post_validation(item: dict, plan: dict, backup_result, conflicts, backfills, review, orphans) -> dict:
            """Gate the finished run, print its summary; hand on its outcome (the full summary is in tenant_runs)."""
            from tenant_integrity.repair import formatting, phases
            from tenant_integrity.repair.results import PhaseResults

            results = PhaseResults.from_dict(
                {
                    "backup": backup_result,
                    "backfills": backfills["sources"],
                    "conflicts": conflicts,
                    "review": review,
                    "orphans": orphans,
                }
            )
            summary = _run(item, phases.post_validation, plan, results)
            print(formatting.format_summary(summary))  # the task output a person reads in the UI
            return phases.outcome(summary).to_dict()

        waited = wait_for_parents(item)
        plan = preflight(item)
        go = stop_if_dry_run(plan)
        approved = PlanApproval(
            task_id="approve_plan",
            preflight_task_id=f"{REPAIR}.preflight",
            # a person's wait is bounded by the run's timeout (4 days), not by a task timeout: Airflow 3.3 parks a
            # HITL task in awaiting_input only without one (with a task or response timeout the task fails there)
            execution_timeout=None,
        )
        backed_up = backup(item, plan)
        backfills = backfill(item, plan)
        conflicts = detect_conflicts(item, plan)
        review = export_review(item, plan)
        orphans = soft_delete_orphans(item, plan)
        waited >> plan
        go >> approved >> backed_up >> backfills >> conflicts >> review >> orphans
        post_validation(item, plan, backed_up, conflicts, backfills, review, orphans)

    @task(outlets=[AssetAlias(REPAIRED_TABLES)], trigger_rule="all_done")
    def announce_repaired_tables(order: list[dict]) -> list[str]:
        """Once every spec of the run has ended: update the asset of each table whose post_validation passed.

        tenant_validation_daily runs on those updates: once, after the whole run, not on a half-repaired graph
        after each spec. A dry run, or a run where no spec passed, updates nothing.
        """
        from tenant_integrity.core import run_order
        from tenant_integrity.tasks.runtime import repaired_table_asset

        context = get_current_context()
        if context["params"].get("dry_run", True):
            return []
        done_task = f"{REPAIR}.post_validation"
        states = context["ti"].get_task_states(
            dag_id=context["dag"].dag_id, run_ids=[context["run_id"]], task_ids=[done_task]
        )
        passed = run_order.passed_specs(order, states.get(context["run_id"], {}), done_task)
        for name in passed:
            context["outlet_events"][AssetAlias(REPAIRED_TABLES)].add(
                repaired_table_asset(name), extra={"run_id": context["run_id"], "spec": name}
            )
        print(f"repaired tables announced to tenant_validation_daily: {', '.join(passed) or 'none'}")
        return passed

    @task(trigger_rule="one_failed")
    def fail_if_a_spec_failed() -> None:
        """The run's verdict: announce_repaired_tables runs whatever the specs did, so this leaf fails the run as
        soon as a spec's last task failed (Airflow's watcher pattern); it is skipped when none did."""
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException("a spec of this run did not pass: see its tasks in the group repair")

    order = resolve_specs()
    repair.expand(item=order) >> [announce_repaired_tables(order), fail_if_a_spec_failed()]


tenant_backfill()
