"""cli: `python -m tenant_integrity` (main), its discover/check commands (discover) and the demo databases (demo).

May import: every role but tasks and ui.
"""
