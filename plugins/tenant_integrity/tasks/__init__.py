"""tasks: the Airflow glue the DAGs call — params in, spec + database + run out (runtime), the plan
approval (approval) and the writer pool (pools).

May import: every role but ui and cli; Airflow.
"""
