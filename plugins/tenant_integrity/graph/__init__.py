"""graph: the tenant graph of a schema — every table with the tenant column, its relations, proposed evidence,
the registry's policy check and the edge audit (discovery).

May import: core, store.
"""
