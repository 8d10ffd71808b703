"""The per-chunk record a run keeps in its folder (engine.save_chunk_log)."""

from __future__ import annotations

from tenant_integrity.engine.chunk_log import read_chunk_logs


def chunk_rows(run_id: str, phase: str, spec: str = "customers_company") -> list[int]:
    """Rows per chunk of one phase of a run, in the order the chunks committed."""
    return next(r["rows"] for r in read_chunk_logs(spec, run_id) if r["phase"] == phase)
