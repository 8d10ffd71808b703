-- purpose: child rows whose tenant differs from their parent's, on parent rows this run did not write (older holes)
{% set run_scope = "before" %}
{% include "checks/relation_mismatch.sql" %}
