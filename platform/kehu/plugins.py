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


class DefaultSaveRules:
    """Built-in save rules declared in metadata or owned by the sales chain: date stamps
    (``stamp_when``) and returns checked against what their order delivered."""

    @hookspecs.hookimpl
    def before_record_save(self, service, entity, values, existing, conn):
        from kehu.records import returns, stamps

        stamps.stamp(service, entity, values, existing)
        returns.before_save(service, entity, values, existing, conn)

    @hookspecs.hookimpl
    def prepare_new_record(self, service, entity, record):
        from kehu.records import returns

        returns.propose(service, entity, record)

    @hookspecs.hookimpl
    def after_approval_event(self, service, conn, entity, record_id, approval_id, action, step, comment):
        from kehu.records import stamps

        # the events that follow a workflow's field changes (on_submit, on_approve, on_reject)
        if entity is not None and action in ("submit", "approved", "rejected"):
            stamps.stamp_stored(service, conn, entity, record_id)


class DefaultRecordActions:
    """Built-in buttons of a record's page: "Create <entity>" from lookups that declare a
    ``new_action``, and "Convert" on an open lead."""

    @hookspecs.hookimpl
    def record_actions(self, entity, record, user, service):
        from kehu.web.actions import record_actions

        return record_actions(service, entity, record)


def make_plugin_manager(extra_plugins=()) -> pluggy.PluginManager:
    pm = pluggy.PluginManager("kehu")
    pm.add_hookspecs(hookspecs)
    pm.register(DefaultFieldTypes(), name="kehu.default_field_types")
    pm.register(DefaultSaveRules(), name="kehu.default_save_rules")
    pm.register(DefaultRecordActions(), name="kehu.default_record_actions")
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
