"""engine: the one chunk engine every write and every large read goes through — keyset chunks in short
transactions, throttled (pacing, replicas), paused or cancelled between chunks (controls), resumed from its
checkpoints, with progress lines (progress). A writer or reader is a small Recipe (runner).

May import: core, store.
"""
