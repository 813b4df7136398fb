"""Every hook a Kehu plugin can implement. Built-ins use the same hooks (default_plugins)."""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("kehu")
hookimpl = pluggy.HookimplMarker("kehu")


@hookspec
def register_field_types():
    """Return a list of FieldType classes to add to the field type registry."""


@hookspec
def register_packs():
    """Return a list of folders, each a pack (holding metadata/pack.yaml)."""


@hookspec
def register_blueprints(app):
    """Register Flask blueprints (pages, API endpoints) on ``app``."""


@hookspec
def before_record_save(service, entity, values, existing, conn):
    """Adjust ``values`` (a dict) before a record is created or updated; raise RecordInvalid to
    refuse. ``conn`` is the save's connection (read other records in the same transaction)."""


@hookspec
def after_record_save(service, entity, record, created, conn):
    """React after a record was saved, inside the same transaction (``conn``); changes made to
    ``record`` (a dict) are what the caller gets back."""


@hookspec
def prepare_new_record(service, entity, record):
    """Adjust ``record`` (a dict), the values a new record's form opens with — its defaults and
    what its URL and lookups filled in — before it is shown. Nothing is saved."""


@hookspec
def before_record_delete(service, entity, record):
    """Raise a KehuError to refuse deleting ``record``."""


@hookspec
def record_actions(entity, record, user, service):
    """Return a list of dicts (label, url, method) offered on a record's detail page;
    ``service`` is the viewer's record service (ask its policy what they may do)."""


@hookspec
def extra_template_vars(template, request):
    """Return a dict of variables added to every template rendering."""


@hookspec
def after_approval_event(service, conn, entity, record_id, approval_id, action, step, comment):
    """React to an approval event (submit, approve, reject, recall, reassign, skip, approved,
    rejected, ...) inside its transaction: send an e-mail, push to a chat, start a task.
    Raise a KehuError to refuse the action (nothing of it is stored)."""
