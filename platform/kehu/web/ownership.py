"""Who owns a record and who else may use it, on the record pages: assign one record or a
selection from the list, share and unshare, and (administrators) "why can this user see
this record?".

Thin over the record service's ownership actions (:mod:`kehu.records.ownership`), which
check the policy before any change and write the history and audit entries. The detail and
list pages show these forms only to users the policy allows; the actions check again.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, abort, flash, make_response, request, url_for
from flask_login import current_user, login_required

from kehu.errors import Forbidden, Locked, RecordInvalid
from kehu.fields import limits
from kehu.org import OrgService
from kehu.web.i18n import gettext as _
from kehu.web.records import (entity_or_404, go_to, partial_or_page, record_entity_or_404, render_detail, render_list,
                              service, site)

bp = Blueprint("ownership", __name__, url_prefix="/app")


@bp.before_request
@login_required
def _signed_in():
    return None


def _int(value):
    """An id from the form (a record, a user, a team): None unless it fits an id column."""
    return limits.parse_id(value)


def _messages(exc: RecordInvalid) -> list[str]:
    return [m for messages in exc.errors.values() for m in messages]


def _org(svc) -> OrgService:
    return OrgService(site(), svc.actor, svc.lang)


# ------------------------------------------------------ page contexts
def access_context(svc, ent, record: dict, errors=None) -> dict:
    """What the detail page's owner-and-sharing card shows this user: the assign form, the
    shares and the share form where the policy allows them, the explain form for admins."""
    policy = svc.policy
    out = {"can_assign": False, "can_share": False, "is_admin": policy.is_admin, "errors": errors or {}}
    if ent.child_of:
        return out  # lines follow their parent record
    # a record waiting for approval keeps its owner until the approval is decided or recalled
    out["can_assign"] = record.get("workflow_state") != "pending" and policy.can(ent, "assign", record)
    out["can_share"] = policy.can(ent, "share", record)
    if not (out["can_assign"] or out["can_share"] or out["is_admin"]):
        return out
    org = _org(svc)
    people = org.users()
    names = {u["id"]: u["display_name"] for u in people}
    out.update(people=people, active=[u for u in people if u["is_active"]],
               owner_name=names.get(record.get("owner"), ""), me=svc.actor.id)
    if out["can_share"]:
        teams = {t["id"]: t["name"] for t in org.teams()}
        departments = org.departments()
        shares = []
        for share in svc.ownership.shares(ent.name, record["id"]):
            kind, pid = share["principal_type"], share["principal_id"]
            if kind == "user":
                principal = names.get(pid)
            elif kind == "team":
                principal = teams.get(pid)
            else:
                principal = departments[pid].label(svc.lang) if pid in departments else None
            shares.append({**share, "principal": principal or f"#{pid}",
                           "granted_by_name": names.get(share["granted_by"], "")})
        out.update(shares=shares, teams=sorted(teams.items(), key=lambda t: t[1]), tree=org.tree(),
                   can_share_write=policy.can(ent, "write", record))
    return out


def bulk_assign_context(svc, ent, query, page) -> dict | None:
    """The list page's "assign selected to…" form, for users who may assign some records."""
    if query.deleted or not page.rows or not svc.policy.can(ent, "assign"):
        return None
    params = query.params() + ([("page", query.page)] if query.page > 1 else [])
    action = url_for("ownership.bulk_assign", entity=ent.name) + ("?" + urlencode(params) if params else "")
    return {"action": action, "users": _org(svc).users(include_inactive=False)}


# ------------------------------------------------------------ actions
def _detail_url(ent, record_id):
    return url_for("records.detail", entity=ent.name, record_id=record_id)


@bp.route("/<entity>/<int:record_id>/assign", methods=["POST"])
def assign(entity, record_id):
    ent = record_entity_or_404(entity)
    svc = service()
    owner = _int(request.form.get("owner"))
    try:
        # an unknown or empty owner is refused by the service, after its permission check
        svc.ownership.assign(ent.name, [record_id], owner if owner is not None else 0)
    except RecordInvalid as exc:
        return render_detail(ent, record_id, 422, access_errors={"assign": _messages(exc)})
    flash(_("Assigned to %(name)s.", name=(site().user(owner) or {}).get("display_name", "")), "ok")
    if svc.policy.can(ent, "read", {"id": record_id}):
        return go_to(_detail_url(ent, record_id))
    return go_to(url_for("records.list_view", entity=ent.name))  # given away beyond one's own reach


@bp.route("/<entity>/-/assign", methods=["POST"])
def bulk_assign(entity):
    """Assign the records ticked on the list page: all of them or, if any is refused, none."""
    ent = entity_or_404(entity)
    if ent.child_of:
        abort(404)
    raw = request.form.getlist("ids")
    ids = [i for i in (_int(v) for v in raw) if i is not None]
    owner = _int(request.form.get("owner"))
    checked = set(ids)
    if not ids or len(ids) != len(raw):
        return render_list(ent, 422, bulk_error=_("Tick the records to assign first."), checked=checked)
    try:
        count = service().ownership.assign(ent.name, ids, owner if owner is not None else 0)
    except RecordInvalid as exc:
        return render_list(ent, 422, bulk_error=" ".join(_messages(exc)), checked=checked)
    except (Forbidden, Locked) as exc:
        return render_list(ent, exc.status, bulk_error=str(exc), checked=checked)
    flash(_("%(count)s records assigned to %(name)s.", count=count,
            name=(site().user(owner) or {}).get("display_name", "")), "ok")
    query = request.query_string.decode("utf-8", "replace")
    return go_to(url_for("records.list_view", entity=ent.name) + ("?" + query if query else ""))


@bp.route("/<entity>/<int:record_id>/share", methods=["POST"])
def share(entity, record_id):
    ent = record_entity_or_404(entity)
    kind, _sep, principal = (request.form.get("principal") or "").partition(":")
    principal_id = _int(principal)
    try:
        # a malformed choice reaches the service as "no such principal", checked after permission
        service().ownership.share(ent.name, record_id, kind, principal_id if principal_id is not None else 0,
                                  request.form.get("access", "read"))
    except RecordInvalid as exc:
        return render_detail(ent, record_id, 422, access_errors={"share": _messages(exc)})
    flash(_("Shared."), "ok")
    return go_to(_detail_url(ent, record_id) + "#access")


@bp.route("/<entity>/<int:record_id>/unshare/<int:share_id>", methods=["POST"])
def unshare(entity, record_id, share_id):
    ent = record_entity_or_404(entity)
    service().ownership.unshare(ent.name, record_id, share_id)
    flash(_("Share removed."), "ok")
    return go_to(_detail_url(ent, record_id) + "#access")


@bp.route("/<entity>/<int:record_id>/explain")
def explain(entity, record_id):
    """Administrators: for each action, may the chosen user do it on this record, and why."""
    if not current_user.is_admin:
        raise Forbidden(_("Only administrators can see why someone may use a record."))
    ent = record_entity_or_404(entity)
    svc = service()
    record = svc.get(ent.name, record_id)
    people = _org(svc).users()
    user_id = _int(request.args.get("user"))
    rows = svc.ownership.explain(ent.name, record_id, user_id) if user_id is not None else None
    chosen = next((u for u in people if u["id"] == user_id), None)
    response = make_response(partial_or_page("records/_explain.html", "records/explain.html", entity=ent, record=record,
                                             title=svc.title_of(ent, record), people=people, chosen=chosen, rows=rows))
    response.vary.add("HX-Request")
    return response
