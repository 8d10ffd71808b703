-- purpose: the insert bench: one application-like insert, a copy of one row with a NULL tenant (what a guard acts on)
insert into {{ target.table }} ({{ target.tenant }}{% for c in copied %}, {{ c }}{% endfor %})
select null{% for c in copied %}, s.{{ c }}{% endfor %}
from {{ target.table }} as s
where s.{{ target.key }} = %(source)s
