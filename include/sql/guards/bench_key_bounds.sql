-- purpose: the insert bench copies the first row of the target; copies get keys above the current largest
select min({{ target.key }}) as source, max({{ target.key }}) as largest
from {{ target.table }}
