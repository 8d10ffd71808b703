"""repair: a backfill run from plan to report — the phases (preflight, backup, backfill, fallbacks, review
export, orphans, post-validation), their typed results, the text a person reads (formatting), the HTML report,
the review file and its import, and the rollback.

May import: core, store, engine, checks, graph.
"""
