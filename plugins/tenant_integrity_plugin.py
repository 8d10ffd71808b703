"""MOVED: the plugin class is in plugins/tenant_integrity/plugin.py (module tenant_integrity.plugin) so that the
installed wheel carries it. Edit that file, not this one.

This file only lets the plugins folder (the repository layout: AIRFLOW__CORE__PLUGINS_FOLDER=plugins/) load the
plugin. When the tenant_integrity wheel is installed, its `airflow.plugins` entry point registers the plugin, and this
file binds no plugin class: Airflow would otherwise skip the second registration by name and show it as a plugin
import error.
"""

from __future__ import annotations

from tenant_integrity import plugin as _plugin

if not _plugin.registered_by_entry_point():
    TenantIntegrityPlugin = _plugin.TenantIntegrityPlugin
