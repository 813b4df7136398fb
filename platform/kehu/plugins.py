"""The plugin manager of one app: built-in defaults plus installed and configured plugins."""

from __future__ import annotations

import os

import pluggy

from kehu import hookspecs
from kehu.fields.base import FieldType

ENTRY_POINT_GROUP = "kehu"


class DefaultFieldTypes:
    """The built-in field types, registered like any plugin's."""

    @hookspecs.hookimpl
    def register_field_types(self):
        from kehu.fields.builtin import BUILTIN_TYPES

        return list(BUILTIN_TYPES)


def make_plugin_manager(extra_plugins=()) -> pluggy.PluginManager:
    pm = pluggy.PluginManager("kehu")
    pm.add_hookspecs(hookspecs)
    pm.register(DefaultFieldTypes(), name="kehu.default_field_types")
    from kehu.records.dispatch import DefaultDispatch

    pm.register(DefaultDispatch(), name="kehu.default_dispatch")
    pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for plugin in extra_plugins:
        pm.register(plugin)
    pm.check_pending()  # a misspelled hook name fails loudly at start-up
    if os.environ.get("KEHU_TRACE_HOOKS"):
        pm.trace.root.setwriter(print)
        pm.enable_tracing()
    return pm


def field_type_registry(pm: pluggy.PluginManager) -> dict[str, FieldType]:
    registry: dict[str, FieldType] = {}
    # pluggy returns the last registered first; defaults were registered first, so reverse
    # the results to let a plugin replace a built-in type of the same name
    for types in reversed(pm.hook.register_field_types()):
        for cls in types:
            registry[cls.name] = cls()
    return registry
