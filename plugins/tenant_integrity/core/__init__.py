"""core: what a run is about, before any database — the spec (YAML, validated), settings and run context,
errors, where the project's files are (paths), and which specs run in what order (run_order).

May import: nothing of the package (only the standard library, PyYAML).
"""
