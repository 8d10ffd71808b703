-- purpose: the checksums before the run (a plain consistent read: no row is locked)
{% include "checksums/_range_checksum.sql" %}

from {{ target.table }} as t
group by {{ key_range("t", range_size) }}
