"""The package's rooms and who may enter them: every subpackage imports only the roles below it, no module
imports another in a loop, and only the Airflow glue, the operator page and the mail import Airflow.

The ranks are the map in tenant_integrity/__init__.py (and README's map). Roles on one rank (engine, checks,
graph; tasks, ui, cli) do not import each other: they are independent rooms on the same floor. Imports under
`if TYPE_CHECKING:` are annotations only and do not count.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "plugins" / "tenant_integrity"

RANK = {
    "core": 0,
    "store": 1,
    "engine": 2,
    "checks": 2,
    "graph": 2,
    "repair": 3,
    "enforce": 4,
    "monitoring": 5,
    "tasks": 6,
    "ui": 6,
    "cli": 6,
}
ENTRY_POINTS = {"plugin", "provider", "__main__", ""}  # the package's doors to Airflow and the shell: above every role

# Airflow at run time (not only in annotations): the glue, the page and the mail, the entry points, and two doors
# to Airflow's own services, imported lazily so that the rest of the package runs without Airflow.
AIRFLOW_ALLOWED = {"tasks", "ui", "monitoring.mail", "plugin", "provider", "store.db", "store.storage"}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST):
    """Every imported module name, imports under `if TYPE_CHECKING:` left out."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)
        stack.extend(ast.iter_child_nodes(node))


def module_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """module ('repair.phases', 'plugin', '' for the package) -> the package's modules it imports."""
    names = {}
    for path in package.rglob("*.py"):
        parts = list(path.relative_to(package).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        found = set()
        for imported in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if imported == "tenant_integrity" or imported.startswith("tenant_integrity."):
                inner = imported.removeprefix("tenant_integrity").lstrip(".")
                if inner in names and inner != name:
                    found.add(inner)
            elif imported == "airflow" or imported.startswith("airflow."):
                found.add("<airflow>")
        graph[name] = found
    return graph


def _role(module: str) -> str:
    return module.split(".")[0] if module.split(".")[0] in RANK else module


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """'a -> b' for every import of a role on the same or a higher floor (another role's room)."""
    wrong = []
    for module, imported in graph.items():
        here = _role(module)
        for other in sorted(imported - {"<airflow>"}):
            there = _role(other)
            if here == there or here in ENTRY_POINTS:
                continue
            if there in ENTRY_POINTS or RANK.get(there, 99) >= RANK.get(here, 99):
                wrong.append(f"{module} -> {other}")
    return wrong


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import loop, found by depth-first search (each loop once per entry point)."""
    found, state = [], {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for other in sorted(graph.get(module, ()) - {"<airflow>"}):
            if state.get(other) == "open":
                found.append([*path[path.index(other) :], other])
            elif other not in state:
                visit(other, [*path, other])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return found


def airflow_importers(graph: dict[str, set[str]]) -> list[str]:
    allowed = lambda m: any(m == a or m.startswith(a + ".") for a in AIRFLOW_ALLOWED)  # noqa: E731
    return sorted(m for m, imported in graph.items() if "<airflow>" in imported and not allowed(m))


def test_every_role_imports_only_the_roles_below_it():
    assert upward_imports(module_graph()) == []


def test_no_module_imports_another_in_a_loop():
    assert cycles(module_graph()) == []


def test_only_the_glue_the_page_and_the_mail_import_airflow():
    assert airflow_importers(module_graph()) == []


def test_every_role_is_a_subpackage_that_says_what_it_owns_and_may_import():
    for role in RANK:
        doc = ast.get_docstring(ast.parse((PACKAGE / role / "__init__.py").read_text(encoding="utf-8"))) or ""
        assert doc.startswith(f"{role}:") and "May import:" in doc, role
    loose = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem not in ENTRY_POINTS | {"__init__"})
    assert loose == [], f"modules outside every role: {loose}"


@pytest.mark.parametrize(
    ("graph", "upward", "loops", "airflow"),
    [
        ({"core.spec": {"store.db"}, "store.db": set()}, ["core.spec -> store.db"], [], []),
        ({"engine.runner": {"checks.gates"}, "checks.gates": set()}, ["engine.runner -> checks.gates"], [], []),
        ({"ui.app": {"tasks.runtime"}, "tasks.runtime": set()}, ["ui.app -> tasks.runtime"], [], []),
        (
            {"repair.a": {"repair.b"}, "repair.b": {"repair.a"}},
            [],
            [["repair.a", "repair.b", "repair.a"]],
            [],
        ),
        ({"repair.phases": {"<airflow>"}, "store.db": {"<airflow>"}}, [], [], ["repair.phases"]),
    ],
)
def test_the_rules_catch_what_they_exist_for(graph, upward, loops, airflow):
    assert upward_imports(graph) == upward
    assert cycles(graph) == loops
    assert airflow_importers(graph) == airflow
