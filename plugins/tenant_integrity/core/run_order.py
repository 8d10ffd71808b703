"""Which specs a multi-table run repairs, and in what order: parents first.

A spec waits for another when one of its `parent` evidence sources reads that spec's target table
(calls.customer_id -> customers.company_id: the calls run must see the customers the customers run
repaired). Evidence from child rows (customers from their appointments) does not order anything: a
child row whose own tenant is NULL is no evidence, and its spec only adds tenants, never removes them.
Specs nothing orders run in parallel.
"""

from __future__ import annotations

from dataclasses import dataclass

from tenant_integrity.core.errors import ParamError
from tenant_integrity.core.spec import Spec, load_spec, spec_names

ALL_SPECS = "all"


@dataclass(frozen=True)
class OrderedSpec:
    """One spec of a run: its name, its position (the map index of its tasks) and the specs it waits for."""

    spec: str
    table: str
    position: int
    waits_for: tuple[str, ...] = ()
    waits_for_positions: tuple[int, ...] = ()

    def to_dict(self) -> dict:
        return {
            "spec": self.spec,
            "table": self.table,
            "position": self.position,
            "waits_for": list(self.waits_for),
            "waits_for_positions": list(self.waits_for_positions),
        }


def requested_names(spec: str | None, specs: list | None, known: list[str] | None = None) -> list[str]:
    """The spec names a run's params ask for: `specs` (names, or ["all"]) when given, else `spec`."""
    known = spec_names() if known is None else known
    if specs in (None, []):
        if not spec:
            raise ParamError('name a spec (param spec) or several (param specs, or ["all"])')
        return [spec]
    if not isinstance(specs, list) or not all(isinstance(s, str) for s in specs):
        raise ParamError(f'specs must be a list of spec names or ["all"], got {specs!r}')
    if ALL_SPECS in specs:
        if len(specs) > 1:
            raise ParamError(f'specs: "all" stands alone, got {specs!r}')
        return list(known)
    duplicates = sorted({s for s in specs if specs.count(s) > 1})
    if duplicates:
        raise ParamError(f"specs: {', '.join(duplicates)} named more than once")
    unknown = [s for s in specs if s not in known]
    if unknown:
        raise ParamError(f"specs: unknown spec(s) {', '.join(unknown)} (known: {', '.join(known)})")
    return list(specs)


def run_order(chosen: list[Spec]) -> list[OrderedSpec]:
    """The chosen specs, parents before the specs whose parent evidence reads them; ties by name.

    Two specs repairing one table, or a cycle of parent evidence, is an error naming them.
    """
    by_table: dict[str, Spec] = {}
    for spec in chosen:
        other = by_table.get(spec.target.table)
        if other is not None:
            raise ParamError(
                f"specs {other.name} and {spec.name} both repair table {spec.target.table}: "
                "one run writes a table from one spec"
            )
        by_table[spec.target.table] = spec
    parents = {
        spec.name: sorted(
            {
                by_table[e.parent.table].name
                for e in spec.evidence
                if e.parent and e.parent.table in by_table and e.parent.table != spec.target.table
            }
        )
        for spec in chosen
    }
    ordered: list[str] = []
    pending = sorted(parents)
    while pending:
        ready = [name for name in pending if all(p in ordered for p in parents[name])]
        if not ready:
            cycle = ", ".join(f"{name} waits for {' and '.join(parents[name])}" for name in pending)
            raise ParamError(f"specs wait for each other in a cycle: {cycle}")
        ordered.extend(ready)
        pending = [name for name in pending if name not in ready]
    position = {name: i for i, name in enumerate(ordered)}
    tables = {spec.name: spec.target.table for spec in chosen}
    return [
        OrderedSpec(
            spec=name,
            table=tables[name],
            position=position[name],
            waits_for=tuple(parents[name]),
            waits_for_positions=tuple(position[p] for p in parents[name]),
        )
        for name in ordered
    ]


def resolve(spec: str | None, specs: list | None) -> list[OrderedSpec]:
    """Params in, the run's specs in order out; every spec file is loaded and statically validated first."""
    return run_order([load_spec(name) for name in requested_names(spec, specs)])


@dataclass(frozen=True)
class ParentWait:
    """Whether a spec may start: every parent passed (`done`), one ended without passing (`failed`), or wait."""

    done: bool
    failed: bool
    message: str


# task states (Airflow's names) after which a parent will not pass in this run without a person clearing it
ENDED_WITHOUT_PASSING = ("failed", "upstream_failed", "skipped", "removed")


def parents_state(item: dict, states: dict[str, str], done_task: str) -> ParentWait:
    """Read the parents' task states of this run (`<task_id>_<map index>` -> state) for one spec."""
    by_position: dict[int, dict[str, str]] = {}
    for key, state in states.items():
        task_id, _, index = key.rpartition("_")
        if index.isdigit():
            by_position.setdefault(int(index), {})[task_id] = str(state)
    waiting = []
    for name, position in zip(item["waits_for"], item["waits_for_positions"], strict=True):
        tasks = by_position.get(position, {})
        if tasks.get(done_task) == "success":
            continue
        ended = sorted(t for t, s in tasks.items() if s in ENDED_WITHOUT_PASSING)
        if ended:
            return ParentWait(
                False,
                True,
                f"spec {item['spec']}: parent spec {name} did not pass in this run "
                f"({', '.join(f'{t} {tasks[t]}' for t in ended)}); {item['spec']} is not repaired, its parent evidence would read "
                f"{name}'s unrepaired tenants. Fix {name}, then clear both.",
            )
        waiting.append(name)
    if waiting:
        return ParentWait(False, False, f"spec {item['spec']} waits for {', '.join(waiting)} to pass post_validation")
    return ParentWait(True, False, f"spec {item['spec']}: {', '.join(item['waits_for'])} passed; starting")


def passed_specs(order: list[dict], states: dict[str, str], done_task: str) -> list[str]:
    """The specs of a run (its order, map index = position) whose `done_task` succeeded (`<task_id>_<map index>`
    -> state, as get_task_states gives them), in run order."""
    return [item["spec"] for position, item in enumerate(order) if states.get(f"{done_task}_{position}") == "success"]


def format_order(order: list[OrderedSpec]) -> str:
    """The run order as a person reads it in the task log."""
    lines = [f"tenant_backfill run order: {len(order)} spec(s)"]
    for o in order:
        after = f"after {', '.join(o.waits_for)}" if o.waits_for else "no parent spec: starts at once"
        lines.append(f"  [{o.position}] {o.spec} (table {o.table}): {after}")
    return "\n".join(lines)
