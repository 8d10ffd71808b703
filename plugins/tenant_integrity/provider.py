"""The `apache_airflow_provider` entry point of the installed wheel: `airflow providers list` shows tenant_integrity.

The plugin is registered by the `airflow.plugins` entry point (pyproject.toml), not here: Airflow 3.3 loads a
provider's "plugins" only when `[core] lazy_discover_providers` is False (plugins_manager._get_plugins; the default is
True), so a plugin listed here would be missing by default, and registered twice (the second skipped and reported as
a plugin import error) when that option is off. PLUGINS documents the plugin for tools that read provider info.
"""

from __future__ import annotations

from tenant_integrity import __version__

PACKAGE_NAME = "tenant-integrity"  # the distribution's canonical name: Airflow refuses provider info that differs
PLUGINS = [{"name": "tenant_integrity", "plugin-class": "tenant_integrity.plugin.TenantIntegrityPlugin"}]


def get_provider_info() -> dict:
    return {
        "package-name": PACKAGE_NAME,
        "name": "Tenant integrity",
        "description": "Repair and guard the tenant key of a multi-tenant MySQL/MariaDB database, with Apache Airflow 3.",
        "versions": [__version__],
    }
