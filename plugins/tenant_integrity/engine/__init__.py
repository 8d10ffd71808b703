"""engine: the one chunk engine every write and every large read goes through — keyset chunks in short
transactions, throttled, retried, resumable. A writer or reader is a small Recipe (recipe); the runner walks it
(runner), on connections that retry and reconnect (session), paced by the throttle and chunk sizer (pacing, replicas),
paused or cancelled between chunks (controls), with progress lines (progress) and chunk times (chunk_log); the
write step the writers share backs up, audits and writes a chunk's decided rows (write_step).

May import: core, store.
"""
