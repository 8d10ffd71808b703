"""graph: the tenant graph of a schema — its types (model), discovery from information_schema (discovery), proposed
specs (proposals), the registry's policy check (policy) and the parent/child mismatch audit (edge_audit).

May import: core, store.
"""
