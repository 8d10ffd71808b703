"""Errors a person reads: each names the spec, phase, table or field that is wrong."""


class TenantIntegrityError(Exception):
    """Base class: a clear, user-facing failure.

    `retryable` says whether running the same task again could succeed: a bad spec, a bad
    param or a failed gate will fail the same way again, so Airflow should not retry them.
    """

    retryable = False


class SpecError(TenantIntegrityError):
    """The spec file is invalid, or does not match the live schema."""

    def __init__(self, spec: str, problems: list[str]):
        self.spec = spec
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"spec {spec!r} is invalid ({len(problems)} problem(s)):\n{listing}")


class ParamError(TenantIntegrityError):
    """A DAG or CLI parameter is out of range or of the wrong type."""


class GateFailed(TenantIntegrityError):
    """A GX gate found unexpected rows; the run stops before anything else is written."""

    def __init__(self, spec: str, phase: str, failures: list[dict]):
        self.spec = spec
        self.phase = phase
        self.failures = failures
        lines = []
        for f in failures:
            sample = ", ".join(str(s) for s in f.get("sample", [])[:20])
            lines.append(
                f"  - {f['check']} on {f['table']}: observed {f['observed']}"
                + (f" (sample ids: {sample})" if sample else "")
                + (f" — {f['description']}" if f.get("description") else "")
            )
        super().__init__(
            f"gate {phase!r} failed for spec {spec!r}: {len(failures)} expectation(s) failed\n" + "\n".join(lines)
        )


class ChunkError(TenantIntegrityError):
    """A chunk did not do what its plan said; it was rolled back whole (data moved under us: retry)."""

    retryable = True
