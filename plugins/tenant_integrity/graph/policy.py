"""The tenant key policy (modelled on GitLab's sharding_key_spec.rb): every tenant table has no NULL rows, NOT NULL
and a declared foreign key to the tenant table, unless include/registry.yaml exempts it; an exemption that is no
longer needed, or names no tenant table, fails too (the list may only shrink)."""

from __future__ import annotations

from pathlib import Path

import yaml

from tenant_integrity.core.paths import INCLUDE_DIR
from tenant_integrity.core.spec import IDENTIFIER
from tenant_integrity.graph.model import Discovery, Exemption, PolicyFailure, Registry, RegistryError

REGISTRY_PATH = INCLUDE_DIR / "registry.yaml"
_REGISTRY_KEYS = {"tenant_column", "tenant_table", "exemptions"}
_EXEMPTION_KEYS = {"table", "reason", "link"}


def load_registry(path: Path = REGISTRY_PATH, required: bool = False) -> Registry:
    """Read and validate the registry; a missing default file is an empty registry."""
    path = Path(path)
    if not path.is_file():
        if required:
            raise RegistryError(path, ["no such file"])
        return Registry(path=None)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise RegistryError(path, [f"not valid YAML: {exc}"]) from exc
    if raw is None:
        return Registry(path=path)
    if not isinstance(raw, dict):
        raise RegistryError(path, [f"expected a mapping at the top, got {type(raw).__name__}"])
    problems = [
        f"{key}: unknown key (allowed: {', '.join(sorted(_REGISTRY_KEYS))})"
        for key in sorted(set(raw) - _REGISTRY_KEYS, key=str)
    ]
    defaults = {}
    for key in ("tenant_column", "tenant_table"):
        value = raw.get(key)
        if value is not None and not (isinstance(value, str) and IDENTIFIER.match(value)):
            problems.append(f"{key}: {value!r} is not an identifier (must match {IDENTIFIER.pattern})")
        defaults[key] = value if isinstance(value, str) else None
    raw_exemptions = raw.get("exemptions") or []
    if not isinstance(raw_exemptions, list):
        problems.append("exemptions: expected a list of {table, reason, link}")
        raw_exemptions = []
    exemptions, seen = [], set()
    for i, item in enumerate(raw_exemptions):
        where = f"exemptions[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: expected a mapping {{table, reason, link}}, got {item!r}")
            continue
        table = item.get("table")
        if isinstance(table, str):
            where = f"{where} ({table})"
        entry = []
        for key in sorted(set(item) - _EXEMPTION_KEYS, key=str):
            entry.append(f"{where}.{key}: unknown key (allowed: link, reason, table)")
        for key in sorted(_EXEMPTION_KEYS):
            value = item.get(key)
            if key not in item:
                entry.append(f"{where}.{key}: required key is missing")
            elif not isinstance(value, str) or not value.strip():
                entry.append(f"{where}.{key}: expected a non-empty string, got {value!r}")
        if isinstance(table, str) and not IDENTIFIER.match(table):
            entry.append(f"{where}.table: {table!r} is not a table name (must match {IDENTIFIER.pattern})")
        elif isinstance(table, str) and table in seen:
            entry.append(f"{where}.table: {table!r} is exempted more than once")
        problems += entry
        if not entry:
            seen.add(table)
            exemptions.append(Exemption(table, item["reason"].strip(), item["link"].strip()))
    if problems:
        raise RegistryError(path, problems)
    return Registry(path, defaults["tenant_column"], defaults["tenant_table"], tuple(exemptions))


def check_policy(discovery: Discovery, registry: Registry) -> list[PolicyFailure]:
    """Every failing table with why, every exemption no longer needed or naming no tenant table."""
    where = registry.path or "the registry"
    failures = []
    exempt = registry.exempt_tables
    for table in discovery.tables:
        problems = table.problems
        if table.table not in exempt:
            failures += [PolicyFailure(table.table, p) for p in problems]
        elif not problems:
            failures.append(
                PolicyFailure(
                    table.table, f"exempt in {where} but passes now: remove its exemption (the list may only shrink)"
                )
            )
    for table in discovery.unchecked:
        failures.append(PolicyFailure(table, "its name is not a plain identifier; no statement here may name it"))
    for e in registry.exemptions:
        if e.table in discovery.names:
            continue
        if e.table not in discovery.base_tables:
            reason = f"exempt in {where} but no such table exists in database {discovery.database}"
        else:
            reason = f"exempt in {where} but has no column {discovery.tenant_column} (not a tenant table)"
        failures.append(PolicyFailure(e.table, f"{reason}: remove its exemption"))
    return failures
