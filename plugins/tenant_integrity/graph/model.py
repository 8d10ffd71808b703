"""The tenant graph as types: tables with the tenant column, their NULL rows, foreign-key edges, proposed evidence,
the registry's exemptions and a policy failure — what discovery finds and the proposals, the policy check and the
edge audit read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tenant_integrity.core import settings
from tenant_integrity.core.errors import TenantIntegrityError
from tenant_integrity.core.spec import BACKUP_PREFIX, Evidence, Relation
from tenant_integrity.store.bookkeeping import ARCHIVE_PREFIX

SOFT_DELETE_COLUMN = "deleted_at"
TEXT_KEY_TYPES = ("char", "varchar")  # the text keys a spec accepts (spec.TargetKey)
CREATED_AT_COLUMN = "created_at"
UPDATED_AT_COLUMN = "updated_at"
NAMING_KEY = "id"  # the key a Laravel/Rails `<singular>_id` column points at
CONN_ID = settings.TENANT_CONN_ID
BOOKKEEPING_PREFIXES = (BACKUP_PREFIX, ARCHIVE_PREFIX)  # per-table backups and archives
OK, NEEDS_BACKFILL, NEEDS_REVIEW, NEEDS_ARCHIVE, NEEDS_CONSTRAINT, EXEMPT = (
    "ok",
    "needs_backfill",
    "needs_review",
    "needs_archive",
    "needs_constraint",
    "exempt",
)


class DiscoveryError(TenantIntegrityError):
    """Bad input for discovery or the policy check: an unknown tenant table, a refused folder (exit 2)."""


class RegistryError(TenantIntegrityError):
    """include/registry.yaml (or --registry) is not a valid registry: names the file and each bad entry."""

    def __init__(self, path: Path, problems: list[str]):
        self.path = path
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"registry {path} is invalid ({len(problems)} problem(s)):\n{listing}")


@dataclass(frozen=True)
class ForeignKeyEdge:
    """`table.column -> parent_table.parent_column`: declared (a foreign key constraint) or by naming."""

    table: str
    column: str
    parent_table: str
    parent_column: str
    declared: bool
    constraint: str | None = None  # the declared foreign key's name

    @property
    def name(self) -> str:
        return f"{self.table}.{self.column} → {self.parent_table}.{self.parent_column}"

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class NullRows:
    active: int
    soft_deleted: int
    in_review: int = 0  # active rows among them with an open review row of a run: a person's to decide

    @property
    def total(self) -> int:
        return self.active + self.soft_deleted

    def __str__(self) -> str:
        review = f", {self.in_review} in review" if self.in_review else ""
        return f"{self.total} ({self.active}/{self.soft_deleted}{review})"


@dataclass(frozen=True)
class ProposedEvidence:
    """One evidence source discovery proposes, with the edge it comes from.

    `kind` is "parent" (the table's own column names a row of another tenant table) or "child"
    (rows of another tenant table name this table's key).
    """

    kind: str
    evidence: Evidence
    edge: ForeignKeyEdge

    def __str__(self) -> str:
        naming = "" if self.edge.declared else " (naming)"
        if self.kind == "parent":
            return f"parent {self.edge.column} → {self.edge.parent_table}.{self.edge.parent_column}{naming}"
        return f"child {self.edge.table}.{self.edge.column}{naming}"


@dataclass(frozen=True)
class DiscoveredTable:
    """A base table carrying the tenant column, as the database says it is now."""

    table: str
    key: str | None  # its single-column primary key; None: none (no spec can be proposed)
    tenant_column: str
    tenant_reference: str  # "companies.id": what the tenant column must reference
    nullable: bool
    null_rows: NullRows
    tenant_foreign_key: ForeignKeyEdge | None  # declared, or suggested by naming (declared=False)
    soft_delete_column: str | None
    created_at_column: str | None
    updated_at_column: str | None
    evidence: tuple[ProposedEvidence, ...]
    relations: tuple[Relation, ...]
    review_columns: tuple[str, ...]
    exempt: bool = False

    @property
    def fk_declared(self) -> bool:
        return self.tenant_foreign_key is not None and self.tenant_foreign_key.declared

    @property
    def problems(self) -> tuple[str, ...]:
        """Why the table fails the policy (whether or not it is exempt); empty when it passes."""
        found = []
        if self.null_rows.total:
            found.append(
                f"{self.null_rows.total} row(s) with a NULL {self.tenant_column}"
                f" ({self.null_rows.active} active, {self.null_rows.soft_deleted} soft-deleted)"
            )
        if self.nullable:
            found.append(f"{self.tenant_column} is NULL-able (no NOT NULL constraint)")
        if not self.fk_declared:
            hint = " (the column's name suggests one: declare it)" if self.tenant_foreign_key else ""
            found.append(f"no declared foreign key {self.table}.{self.tenant_column} → {self.tenant_reference}{hint}")
        return tuple(found)

    @property
    def status(self) -> str:
        if self.exempt:
            return EXEMPT
        # the next step for the NULL rows left: a backfill, a person's decision, tenant_constraints' archive
        if self.null_rows.active > self.null_rows.in_review:
            return NEEDS_BACKFILL
        if self.null_rows.active:
            return NEEDS_REVIEW
        if self.null_rows.soft_deleted:
            return NEEDS_ARCHIVE
        if self.nullable or not self.fk_declared:
            return NEEDS_CONSTRAINT
        return OK


@dataclass(frozen=True)
class Discovery:
    database: str
    tenant_column: str
    tenant_table: str
    tenant_key: str
    tables: tuple[DiscoveredTable, ...]  # by name
    edges: tuple[ForeignKeyEdge, ...]  # between two tenant tables (self-references included), by child table
    base_tables: frozenset[str]  # every base table of the database
    unchecked: tuple[str, ...] = ()  # tables with the tenant column whose name no statement may carry

    def table(self, name: str) -> DiscoveredTable:
        for t in self.tables:
            if t.table == name:
                return t
        raise KeyError(f"{name!r} is not a tenant table of {self.database}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.table for t in self.tables)


@dataclass(frozen=True)
class EdgeMismatch:
    """Child rows of an edge whose tenant differs from their parent row's tenant (both non-NULL)."""

    edge: ForeignKeyEdge
    count: int
    child_ids: tuple  # the first MISMATCH_SAMPLE child keys, ascending

    @property
    def name(self) -> str:
        return self.edge.name

    def __str__(self) -> str:
        return f"{self.edge.name}: {self.count} row(s) (child ids: {', '.join(map(str, self.child_ids))})"


@dataclass(frozen=True)
class Exemption:
    table: str
    reason: str
    link: str


@dataclass(frozen=True)
class Registry:
    path: Path | None
    tenant_column: str | None = None
    tenant_table: str | None = None
    exemptions: tuple[Exemption, ...] = ()

    @property
    def exempt_tables(self) -> frozenset[str]:
        return frozenset(e.table for e in self.exemptions)


@dataclass(frozen=True)
class PolicyFailure:
    table: str
    reason: str

    def __str__(self) -> str:
        return f"{self.table}: {self.reason}"
