"""One benchmark contender in its own process, so its peak RSS is the worker's: the whole pipeline.

Prints a JSON line with per-phase seconds, rows, chunk statistics and the peak RSS.
"""

from __future__ import annotations

import json
import resource
import sys
import time

from tenant_integrity.core.spec import load_spec
from tenant_integrity.engine.chunk_log import read_chunk_logs
from tenant_integrity.repair import phases
from tenant_integrity.repair.results import PhaseResults
from tenant_integrity.store.db import DbTarget


def main(url: str, batch_size: int, chunk_seconds: float, workers: int) -> None:
    target, spec = DbTarget.from_url(url), load_spec("customers_company")
    ctx = phases.RunContext(
        run_id="bench", dry_run=False, batch_size=batch_size, chunk_seconds=chunk_seconds, workers=workers
    )
    seconds, results = {}, {}

    def timed(name, call):
        started = time.perf_counter()
        results[name] = call()
        seconds[name] = time.perf_counter() - started
        return results[name]

    plan = timed("preflight", lambda: phases.preflight(target, spec, ctx))
    timed("backup", lambda: phases.backup(target, spec, ctx, plan))
    for source in spec.evidence:
        timed(f"backfill_{source.name}", lambda s=source.name: phases.backfill_source(target, spec, ctx, plan, s))
    timed("detect_conflicts", lambda: phases.detect_conflicts(target, spec, ctx, plan))
    timed("export_review", lambda: phases.export_review(target, spec, ctx, plan))
    timed("soft_delete_orphans", lambda: phases.soft_delete_orphans(target, spec, ctx, plan))
    phase_results = PhaseResults(
        backup=results["backup"],
        backfills=tuple(results[f"backfill_{s.name}"] for s in spec.evidence),
        conflicts=results["detect_conflicts"],
        review=results["export_review"],
        orphans=results["soft_delete_orphans"],
    )
    timed("post_validation", lambda: phases.post_validation(target, spec, ctx, plan, phase_results))
    # every write phase's chunks (preflight's read-only profile is not a write)
    durations = [
        d for r in read_chunk_logs(spec.name, ctx.run_id) if r["phase"] != "preflight profile" for d in r["seconds"]
    ]
    print(
        json.dumps(
            {
                "seconds": seconds,
                "backfilled": sum(results[f"backfill_{s.name}"].backfilled for s in spec.evidence),
                "plan": plan.outcomes.to_dict(),
                "chunk_durations": durations,
                "backup_chunks": results["backup"].to_dict(),
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            },
            default=str,
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]))
