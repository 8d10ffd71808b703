"""docs/explanation/design.md's table of floors names exactly each role's modules: a module added, moved or
renamed shows up here until the map says so."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "plugins" / "tenant_integrity"
DESIGN = ROOT / "docs" / "explanation" / "design.md"


def mapped_modules(text: str) -> dict[str, set[str]]:
    """role -> the modules its row names (`templates/` and other folders left out)."""
    rows = re.findall(r"^\| \d \| `(\w+)` \| .* \| (.*) \|$", text, re.M)
    return {role: {m for m in re.findall(r"`([\w]+)`", modules)} for role, modules in rows}


def package_modules() -> dict[str, set[str]]:
    return {
        role.name: {p.stem for p in role.glob("*.py") if p.stem != "__init__"}
        for role in sorted(PACKAGE.iterdir())
        if (role / "__init__.py").is_file() and not role.name.startswith("_")
    }


def test_the_design_map_names_every_module_of_every_role():
    assert mapped_modules(DESIGN.read_text(encoding="utf-8")) == package_modules()


def test_the_map_check_sees_a_missing_module():
    text = DESIGN.read_text(encoding="utf-8").replace("`write_step`, ", "")
    assert mapped_modules(text) != package_modules()
