-- purpose: how many rows of one chunk the run changed and no earlier rollback restored yet
{% include "rollback/_written_values.sql" %}

select count(*) as changed_rows from written
