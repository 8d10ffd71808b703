-- purpose: child rows whose tenant differs from their parent's, where the parent is a row this run wrote
{% set run_scope = "created" %}
{% include "checks/relation_mismatch.sql" %}
