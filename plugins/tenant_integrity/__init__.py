"""tenant_integrity: repair and guard the tenant key of a multi-tenant MySQL/MariaDB database.

One subpackage per role, each importing only the roles below it (tests/test_import_rules.py keeps it so):

    core        the spec, settings, errors, paths, run order          imports nothing of the package
    store       connections, SQL, bookkeeping tables, run files       core
    engine      the chunk engine: runner, pacing, controls, replicas   core, store
    checks      gates: GX suites and SQL checks in the database        core, store
    graph       the tenant graph: discovery, evidence, policy          core, store
    repair      a backfill run: phases, results, report, review, undo  ... graph
    enforce     guard triggers, NOT NULL + FK, bounded DDL             ... repair
    monitoring  daily validation, the 48-hour watch, on-call mail      ... enforce
    tasks, ui, cli   the faces: Airflow glue, the operator page, the command line

plugin.py and provider.py are the Airflow entry points; the DAGs in dags/ only wire tasks into Airflow.
"""

__version__ = "0.1.0"
