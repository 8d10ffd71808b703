"""Command line: `python -m tenant_integrity <command>` (from the project's venv).

load-demo --data-set all|seed_incident   recreate the database of $AIRFLOW_CONN_TENANT_DB with demo data
show-plan [--spec S]                     the newest dry-run plan in the storage base, <base>/<spec>/
show-summary [--spec S]                  the summary of the newest real run recorded in tenant_runs
discover [--write DIR]                   every table with the tenant column: NULL rows, FKs, proposed evidence
check [--registry PATH]                  the tenant key policy (include/registry.yaml); exit 1 naming each failing table
pause|resume (--spec S [--run-id R] | --all)   hold / release the writers between two chunks
cancel --spec S --run-id R               end a run's task after its current chunk (clear the task to resume)
controls                                 the open pause and cancel requests
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from tenant_integrity.cli import demo, discover
from tenant_integrity.core.spec import load_spec
from tenant_integrity.repair import formatting
from tenant_integrity.repair.results import Plan, Summary
from tenant_integrity.store import sql, storage
from tenant_integrity.store.db import DbTarget


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tenant_integrity")
    sub = parser.add_subparsers(dest="command", required=True)
    load = sub.add_parser("load-demo", help="drop, recreate and load the demo database")
    load.add_argument("--data-set", default="all", choices=sorted(demo.DATA_SETS))
    for name in ("show-plan", "show-summary"):
        shown = sub.add_parser(name)
        shown.add_argument("--spec", default="customers_company")
    grants = sub.add_parser("grants", help="print the least-privilege GRANT statements a spec needs")
    grants.add_argument("--spec", required=True)
    grants.add_argument("--user", default="'tenant_integrity'@'%'")
    check = sub.add_parser("validate", help="run the daily validation's checks for one spec")
    check.add_argument("--spec", required=True)
    check.add_argument("--comprehensive", action="store_true", help="add the comprehensive checks")
    check.add_argument("--fail-on-issues", action="store_true", help="exit 1 when a critical check fails")
    discover.add_arguments(sub.add_parser("discover", help="the tenant tables, their NULL rows and FKs"), "discover")
    discover.add_arguments(sub.add_parser("check", help="exit 1 naming each table failing the policy"), "check")
    for name in ("pause", "resume", "cancel"):
        control = sub.add_parser(name, help=f"{name} runs between two chunks")
        scope = control.add_mutually_exclusive_group(required=True)
        scope.add_argument("--spec", help="the runs of this spec")
        if name != "cancel":
            scope.add_argument("--all", action="store_true", help="every run on this database")
        control.add_argument("--run-id", default="", help="only this run" + (" (required)" if name == "cancel" else ""))
        control.add_argument("--by", default=os.environ.get("USER", "cli"), help="who asks (shown in the task log)")
    sub.add_parser("controls", help="the open pause and cancel requests")
    args = parser.parse_args(argv)
    if args.command in ("discover", "check"):
        return discover.run_cli(args, os.environ.get("AIRFLOW_CONN_TENANT_DB"))
    if args.command == "grants":
        from tenant_integrity.store.privileges import grant_statements

        database = (
            DbTarget.from_url(os.environ["AIRFLOW_CONN_TENANT_DB"]).database
            if os.environ.get("AIRFLOW_CONN_TENANT_DB")
            else "app"
        )
        print(";\n".join(grant_statements(load_spec(args.spec), database, args.user)) + ";")
        return 0
    url = os.environ.get("AIRFLOW_CONN_TENANT_DB")
    if not url:
        print("AIRFLOW_CONN_TENANT_DB is not set (mysql://user:pw@host:3306/db)", file=sys.stderr)
        return 2
    target = DbTarget.from_url(url)
    if args.command == "validate":
        return _validate(target, args)
    if args.command in ("pause", "resume", "cancel", "controls"):
        return _control(target, args)
    if args.command == "load-demo":
        demo.recreate_database(target, args.data_set)
        print(f"loaded demo data set {args.data_set!r} into {target!r}")
    elif args.command == "show-plan":
        try:
            folder = storage.child(storage.base(), args.spec)  # $TENANT_STORAGE_URL or $TENANT_REVIEW_DIR
        except storage.UnsafeKey as exc:
            print(f"error: --spec: {exc}", file=sys.stderr)
            return 2
        plans = sorted(storage.glob(folder, "*/plan.json"), key=storage.modified)
        if not plans:
            print(f"no dry-run plan for spec {args.spec!r} under {storage.display(storage.base())}", file=sys.stderr)
            return 1
        plan = Plan.from_dict(json.loads(storage.read_text(plans[-1])))
        print(formatting.format_plan(plan, load_spec(args.spec)))
    elif args.command == "show-summary":
        with target.connect() as db:
            rows = db.rows(sql.render("report/latest_run.sql"), {"spec": args.spec, "dag_id": "tenant_backfill"})
        if not rows or not rows[0]["summary"]:
            print(f"no finished tenant_backfill run for spec {args.spec!r}", file=sys.stderr)
            return 1
        print(f"status: {rows[0]['status']}")
        print(formatting.format_summary(Summary.from_dict(json.loads(rows[0]["summary"]))))
    return 0


def _control(target: DbTarget, args) -> int:
    from tenant_integrity.core.errors import ParamError
    from tenant_integrity.engine import controls

    if args.command == "controls":
        for request in controls.open_requests(target):
            print(request)
        return 0
    scope = controls.EVERY_RUN if getattr(args, "all", False) else args.spec
    try:
        if args.command == "resume":
            controls.release(target, controls.PAUSE, scope, args.run_id)
        else:
            action = controls.PAUSE if args.command == "pause" else controls.CANCEL
            controls.request(target, action, scope, args.run_id, args.by)
    except ParamError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.command}: {'every run' if scope == controls.EVERY_RUN else scope} {args.run_id}".rstrip())
    return 0


def _validate(target: DbTarget, args) -> int:
    import datetime as dt

    from tenant_integrity.core.errors import TenantIntegrityError
    from tenant_integrity.monitoring import validation

    mode = "comprehensive" if args.comprehensive else "standard"
    run_id = "cli__" + dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    try:
        report = validation.validate(target, load_spec(args.spec), mode, run_id)
    except TenantIntegrityError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(validation.format_table(report))
    return 1 if (args.fail_on_issues and not report.passed) else 0


if __name__ == "__main__":
    sys.exit(main())
