"""Approvals: submit a record to its workflow, decide, recall, reassign, delegate, remind.

Reached through the record service (``svc.approvals``), so the same actor, permission
policy and transactions apply as for every other record operation.

How an approval runs: submitting picks the entity's first enabled workflow whose entry
condition holds, stores (once per content) the workflow's definition as a version, and
starts the first step whose ``when`` holds. A step creates one task per approver; an
approver with a delegation for today is replaced by their delegate (the task remembers
whom it is for). ``any``: the first approval completes the step and cancels the other
tasks; ``all``: every task must be approved. Any rejection ends the approval. While an
approval is pending the record's ``workflow_state`` is ``pending`` and the record service
refuses edits by anyone but administrators.

Approvals in flight keep running on the stored version of their workflow, whatever later
changes to the workflow documents say.

Modules: ``common`` (the task, helpers, events and notifications), ``state`` (a record's
approval as it stands), ``engine`` (submit, decide, recall, reassign, advance, finish),
``approvers`` (approver rules and delegates), ``inbox`` (what waits for the actor),
``delegation`` and ``reminders``. :class:`Approvals` joins them into the one entry point.
"""

from __future__ import annotations

from kehu.records.workflow.approvers import Approvers
from kehu.records.workflow.common import PENDING, Task
from kehu.records.workflow.delegation import Delegation
from kehu.records.workflow.engine import Engine
from kehu.records.workflow.inbox import Inbox
from kehu.records.workflow.reminders import Reminders
from kehu.records.workflow.state import State


class Approvals(Engine, State, Approvers, Inbox, Delegation, Reminders):
    """The record service's workflows for one actor (``svc.approvals``)."""


__all__ = ["Approvals", "PENDING", "Task"]
