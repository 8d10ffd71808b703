"""ui: the operator page on Airflow's API server — the FastAPI app, its read queries, the run files it serves,
its calls to Airflow's REST API, and its templates.

May import: every role but tasks and cli; Airflow.
"""
