"""The contract between the engine and a writer or reader: a `Recipe` says which keys it walks and what one chunk
does; the engine hands back what it did as a `PhaseRun`. Shopify's maintenance tasks call these
`collection` / `count` / `process`; GitLab's batched background migrations, a job class.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tenant_integrity.core.settings import RunContext
from tenant_integrity.store.db import Database


@dataclass(frozen=True)
class Checkpoint:
    """One worker's share of a phase: the keys (after, until], saved under `share` (gh-ost's typed checkpoint)."""

    share: str
    after: Any
    until: Any  # None: no upper bound
    resumed: bool = False  # continues from the checkpoint of an earlier attempt


@dataclass(frozen=True)
class ChunkResult:
    """What one chunk's transaction did: rows it acted on, the first ids among them, and anything to report."""

    rows: int
    sample_ids: list = field(default_factory=list)
    notes: list = field(default_factory=list)  # e.g. a rollback's rows left alone


@dataclass(frozen=True)
class PhaseRun:
    """What the engine did for one phase: the typed result every writer builds its own result from."""

    rows: int
    chunks: int
    sample_ids: list
    notes: list
    resumed_after: Any
    workers: int
    progress: str
    chunk_stats: dict
    retries: int


class Recipe:
    """A writer, for the engine. Subclasses say which keys they walk and what a chunk does.

    Keys are whatever the walk is keyed by (target keys, the audit's row keys, a decision list's keys);
    the engine binds them back as parameters and never computes with them.
    """

    phase = "chunks"  # the checkpoint, progress and error name
    splittable = False  # may be split into shares walked by parallel workers
    # read-only transactions (a dry run, a profile): nothing to checkpoint or resume. A writing recipe
    # checkpoints every chunk under its registered run (ctx.run_no) and resumes from there
    read_only = False

    def prepare(self, db: Database) -> Any:
        """Per (re)connection: session settings and statements; what `process` receives as `prepared`."""
        return None

    def count(self, db: Database) -> int:
        """Rows the walk will meet (for progress)."""
        raise NotImplementedError

    def scope_end(self, db: Database, ctx: RunContext) -> Any:
        """The last key in scope, or None for no bound."""
        return None

    def first_key(self, db: Database, until: Any) -> Any:
        """The key the walk starts after (exclusive), or None when there is nothing to walk."""
        raise NotImplementedError

    def next_end(self, db: Database, after: Any, size: int, until: Any) -> tuple[Any, int] | None:
        """The last key of the next chunk of at most `size` rows after `after`, and its rows; None at the end."""
        raise NotImplementedError

    def share_bound(self, db: Database, after: Any, until: Any, offset: int) -> Any:
        """The key `offset` rows after `after` (splittable recipes only)."""
        raise NotImplementedError

    def process(self, db: Database, prepared: Any, lo: Any, hi: Any, samples_wanted: int) -> ChunkResult:
        """Act on the keys (lo, hi] inside the engine's transaction; raise to roll the chunk back whole."""
        raise NotImplementedError
