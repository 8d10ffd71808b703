"""tenant_integrity: repair and guard the tenant key of a multi-tenant MySQL/MariaDB database.

Pure logic lives here (spec loading, SQL rendering, chunking, phases, gates, reports);
the DAGs in dags/ only wire these functions into Airflow tasks.
"""

__version__ = "0.1.0"
