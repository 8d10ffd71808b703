"""enforce: keeping the repair — guard triggers that refuse a NULL or foreign tenant (guards), NOT NULL and the
foreign key once the data is clean (constraints), and the DDL session that waits a bounded time for the
table's metadata lock (ddl).

May import: core, store, engine, checks, graph, repair.
"""
