-- purpose: the rows of one chunk that are left alone: changed since the run (or never backed up)
{% include "rollback/_written_values.sql" %}
select row_id, backed_up
from compared
where not (backed_up and coalesce(unchanged_since, 0))
order by row_id
