"""Approval pages: the inbox, the actions of the record's approval panel (submit, approve,
reject, recall, reassign), delegation, and the read-only workflow view for administrators.

Views are thin over :class:`kehu.records.workflow.Approvals`. After a decision the page
is reloaded (the workflow may have changed the record's fields); a refused action on the
record page answers with the panel again, its message and the comment as typed.

Answers: a task or approval that does not exist, or whose record the user cannot read, is
one and the same 404; an action the user may not take (deciding someone else's task,
recalling someone else's approval, reassigning without being an administrator) is a 403;
an action that came too late (the step moved on, the task was handed on, the record
changed meanwhile) gets the panel or the page back with the reason.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from htmx_flask import make_response as hx_response

from kehu.errors import Conflict, Forbidden, KehuError, NotFound, RecordInvalid, WorkflowError
from kehu.fields import limits
from kehu.web import i18n
from kehu.web.i18n import gettext as _
from kehu.web.context import service, site

bp = Blueprint("approvals", __name__)

TABS = ("waiting", "decided", "submitted")
COMMENT_MAX = 2000  # what the approval history keeps of a comment


def _comment() -> str | None:
    """The typed comment; one with control characters or longer than the history keeps is
    refused (RecordInvalid, shown like the action's other refusals), never cut short."""
    text = request.form.get("comment")
    problem = limits.text_problem(text, i18n.lang(), max_length=COMMENT_MAX, multiline=True) if text else None
    if problem:
        raise RecordInvalid({"comment": [problem]})
    return text


@bp.before_request
@login_required
def _signed_in():
    return None


# ------------------------------------------------------------ record page
def approval_context(svc, entity, record) -> dict:
    """What the record's approval panel shows: the latest approval (its steps, tasks and
    approvers' names), the actor's own pending task, and the workflow they could submit to."""
    approvals = svc.approvals
    current = approvals.current(entity.name, record["id"])
    steps = []
    if current:
        wf = current["workflow_def"]
        for no, step in enumerate(wf.steps):
            tasks = [t for t in current["tasks"] if t.step_no == no]
            if current["state"] == "pending" and current["step_no"] == no:
                status = "current"
            elif tasks:
                status = "rejected" if any(t.state == "rejected" for t in tasks) else (
                    "approved" if any(t.state == "approved" for t in tasks) else "cancelled")
            elif current["step_no"] is not None and no < current["step_no"] or current["state"] == "approved":
                status = "skipped"
            else:
                status = "upcoming"
            steps.append({"no": no, "step": step, "tasks": tasks, "status": status})
    return {
        "current": current,
        "steps": steps,
        "names": current["names"] if current else {},
        "my_task": approvals.my_task(current),
        "can_submit": approvals.can_submit(entity.name, record),
        "can_recall": bool(current and current["state"] == "pending"
                           and (current["submitted_by"] == svc.actor.id or svc.actor.is_admin)),
        "users": site().user_choices(limit=500) if svc.actor.is_admin and current and current["state"] == "pending" else [],
    }


def _panel(entity_name: str, record_id: int, status: int, error: str | None = None, errors=None):
    svc = service()
    ent = svc.entity(entity_name)
    record = svc.get(ent.name, record_id)
    html = render_template("records/_approval.html", entity=ent, record=record,
                           approval=approval_context(svc, ent, record), panel_error=error,
                           panel_errors=errors or {}, typed=request.form.get("comment", ""),
                           typed_for=(request.endpoint or "").rpartition(".")[2])
    return hx_response(html, status)


def _done(message: str, target: str):
    flash(message)
    if request.headers.get("HX-Request"):
        return hx_response("", 204, redirect=target)
    return redirect(target, 303)


def _refused(exc: KehuError, entity_name: str, record_id: int, back: str):
    """An action refused because it came too late or its input was wrong (not because the
    user may not take it: that is a 403): on the record page the panel again with the
    message; elsewhere back to where the user was, with the message on top."""
    errors = getattr(exc, "errors", None) or {}
    message = " ".join(m for msgs in errors.values() for m in msgs) if errors else str(exc)
    if request.form.get("origin") == "record" and request.headers.get("HX-Request"):
        # htmx swaps 409 and 422 only (see the htmx-config in base.html)
        return _panel(entity_name, record_id, exc.status, message, errors)
    flash(message, "error")
    if request.headers.get("HX-Request"):
        return hx_response("", 204, redirect=back)
    return redirect(back, 303)


def _back(entity_name: str, record_id: int) -> str:
    if request.form.get("origin") == "inbox":
        return url_for("approvals.inbox")
    return url_for("records.detail", entity=entity_name, record_id=record_id)


# ----------------------------------------------------------------- actions
@bp.route("/app/<entity>/<int:record_id>/-/submit", methods=["POST"])
def submit(entity, record_id):
    svc = service()
    ent = svc.entity(entity)
    back = url_for("records.detail", entity=ent.name, record_id=record_id)
    try:
        approval = svc.approvals.submit(ent.name, record_id, _comment())
    except (WorkflowError, RecordInvalid, Conflict) as exc:
        return _refused(exc, ent.name, record_id, back)
    return _done(_("Submitted for approval: %(workflow)s.", workflow=approval["workflow_def"].label.get(i18n.lang())), back)


def _task_target(task_id: int) -> tuple[str, int]:
    """The record a task belongs to, for the answer: the same 404 as a missing task unless
    the user can read it (the service checks the task itself)."""
    return service().approvals.locate(task_id=task_id)


@bp.route("/-/approvals/tasks/<int:task_id>/<any(approve, reject):decision>", methods=["POST"])
def decide(task_id, decision):
    entity_name, record_id = _task_target(task_id)
    approvals = service().approvals
    try:
        comment = _comment()
        if decision == "approve":
            after = approvals.approve(task_id, comment)
        else:
            after = approvals.reject(task_id, comment)
    except (WorkflowError, RecordInvalid, Conflict) as exc:
        return _refused(exc, entity_name, record_id, _back(entity_name, record_id))
    state = after["state"] if after else ""
    message = {
        "approved": _("Approved. The approval is complete."),
        "rejected": _("Rejected. The submitter has been told."),
    }.get(state, _("Approved. It moves on to the next step.") if decision == "approve" else _("Rejected."))
    return _done(message, _back(entity_name, record_id))


@bp.route("/-/approvals/<int:approval_id>/recall", methods=["POST"])
def recall(approval_id):
    entity_name, record_id = service().approvals.locate(approval_id=approval_id)
    try:
        service().approvals.recall(approval_id, _comment())
    except (WorkflowError, RecordInvalid, Conflict) as exc:
        return _refused(exc, entity_name, record_id, _back(entity_name, record_id))
    return _done(_("Recalled. You can change the record and submit it again."), _back(entity_name, record_id))


@bp.route("/-/approvals/tasks/<int:task_id>/reassign", methods=["POST"])
def reassign(task_id):
    entity_name, record_id = _task_target(task_id)
    user_id = limits.parse_id(request.form.get("user_id")) or 0
    try:
        service().approvals.reassign(task_id, user_id, _comment())
    except (WorkflowError, RecordInvalid, Conflict) as exc:
        return _refused(exc, entity_name, record_id, _back(entity_name, record_id))
    return _done(_("Reassigned."), _back(entity_name, record_id))


# ------------------------------------------------------------------- inbox
@bp.route("/-/approvals")
def inbox():
    approvals = service().approvals
    approvals.send_reminders()
    tab = request.args.get("tab", "waiting")
    if tab not in TABS:
        tab = "waiting"
    meta = site().metadata
    entity = request.args.get("entity") or None
    if entity is not None and entity not in meta.entities:
        entity = None
    workflow = request.args.get("workflow") or None
    if workflow is not None and workflow not in meta.workflows:
        workflow = None
    overdue = request.args.get("overdue") == "1"
    if tab == "waiting":
        rows = approvals.inbox(entity=entity, workflow=workflow, overdue_only=overdue)
    elif tab == "decided":
        rows = approvals.inbox(entity=entity, workflow=workflow, state="decided")
    else:
        rows = [r for r in approvals.submitted() if (not entity or r["entity"] == entity)
                and (not workflow or r["workflow"] == workflow)]
    entities = sorted({w.entity for w in meta.workflows.values()})
    return render_template("approvals/inbox.html", rows=rows, tab=tab, entity=entity, workflow=workflow,
                           overdue=overdue, entities=[meta.entity(e) for e in entities],
                           workflows=sorted(meta.workflows.values(), key=lambda w: w.name),
                           waiting=approvals.pending_count())


# -------------------------------------------------------------- delegation
@bp.route("/-/delegation", methods=["GET", "POST"])
def delegation():
    approvals = service().approvals
    errors, form = {}, {}
    if request.method == "POST":
        form = request.form
        try:
            approvals.delegate(limits.parse_id(form.get("delegate_id")), form.get("starts_on"), form.get("ends_on"))
        except RecordInvalid as exc:
            errors = exc.errors
        else:
            flash(_("Delegation saved."))
            return redirect(url_for("approvals.delegation"), 303)
    users = [(uid, name) for uid, name in site().user_choices(limit=500) if uid != current_user.id]
    return render_template("approvals/delegation.html", delegations=approvals.delegations(), users=users,
                           errors=errors, form=form), 422 if errors else 200


@bp.route("/-/delegation/<int:delegation_id>/end", methods=["POST"])
def end_delegation(delegation_id):
    service().approvals.end_delegation(delegation_id)
    flash(_("Delegation ended."))
    return redirect(url_for("approvals.delegation"), 303)


# ------------------------------------------------------------------- admin
def _require_admin():
    if not current_user.is_admin:
        raise Forbidden(_("Only administrators can see this page."))


@bp.route("/-/admin/workflows")
def workflows():
    _require_admin()
    meta = site().metadata
    return render_template("approvals/workflows.html",
                           workflows=sorted(meta.workflows.values(), key=lambda w: (w.entity, w.priority, w.name)))


@bp.route("/-/admin/workflows/<name>")
def workflow(name):
    _require_admin()
    wf = site().metadata.workflows.get(name)
    if wf is None:
        raise NotFound(_("No such workflow."))
    return render_template("approvals/workflow.html", wf=wf, entity=site().metadata.entity(wf.entity))
