-- purpose: numbers 1..n from a cross join of digit tables, {{ places | int }} places
insert into bench_seq (n)
select numbered.n
from (
    select 1{% for i in range(places) %} + d{{ i }}.d * {{ (10 ** i) | int }}{% endfor %} as n
    from bench_digits as d0
    {% for i in range(1, places) %}
    cross join bench_digits as d{{ i }}
    {% endfor %}
) as numbered
where numbered.n <= %(n)s
