-- purpose: may this user write the tenant and soft-delete columns? (EXPLAIN checks column privileges, writes nothing)
explain update {{ target.table }} set {{ target.tenant }} = {{ target.tenant }}, {{ target.soft_delete }} = {{ target.soft_delete }} where false
