"""cli: `python -m tenant_integrity` (main) and the demo databases (demo).

May import: every role but tasks and ui.
"""
