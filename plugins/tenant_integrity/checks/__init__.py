"""checks: the gates — GX suites and SQL checks run in the database, each a typed result (gates), and the
GX expectation that counts a check's rows in one query (gx_expectations).

May import: core, store.
"""
