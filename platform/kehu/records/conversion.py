"""Lead conversion: an open lead becomes a customer (new, or one that exists), a contact (new,
existing or none) and optionally an opportunity, in one transaction.

The lead's ``converted_*`` fields and its ``converted`` status are written only here (they
are read-only in metadata, so no form or update can set them), with a history entry. What
is created goes through the record service (permissions, validation, coding rules, history,
hooks), owned by whoever converts. Before creating, likely duplicates the converter can see
are reported (same customer name, same tax number, same mobile on a contact): the caller
links one of them instead, or confirms with ``allow_duplicates``.

``choices`` (what the conversion page posts; the API can send the same)::

    {"customer": {"mode": "new", "values": {...}} | {"mode": "existing", "id": 12},
     "contact": {"mode": "new", "values": {...}} | {"mode": "existing", "id": 5} | {"mode": "none"},
     "opportunity": {"mode": "new", "values": {...}} | {"mode": "none"},
     "allow_duplicates": false}

``values`` override what :meth:`Conversion.proposal` copies from the lead. Errors are keyed
``customer.<field>``, ``contact.<field>``, ``opportunity.<field>`` (or the part's name).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from kehu.errors import KehuError, NotFound, RecordInvalid, WorkflowError
from kehu.records.query import Filter, ListQuery

PARTS = ("customer", "contact", "opportunity")
CLOSED = ("unqualified",)  # lead statuses that are not converted (set the lead back to qualified first)
# lead field -> field of the record it becomes (copied when both exist)
CUSTOMER_FROM_LEAD = {"name": "company_name", "industry": "industry", "province": "province", "city": "city",
                      "phone": "phone", "tax_number": "tax_number", "source": "source"}
CONTACT_FROM_LEAD = {"name": "contact_name", "title": "title", "mobile": "mobile", "phone": "phone", "email": "email"}
OPPORTUNITY_FROM_LEAD = {"name": "company_name", "amount": "estimated_amount", "source": "source",
                         "description": "description"}


class PossibleDuplicates(KehuError):
    """Records like the ones to be created exist; nothing was created."""

    status = 409
    code = "duplicates"

    def __init__(self, message: str, duplicates: list["Duplicate"]):
        super().__init__(message)
        self.duplicates = duplicates


@dataclass(frozen=True)
class Duplicate:
    entity: str
    id: int
    title: str
    reason: str  # name, tax_number or mobile
    customer: int | None = None  # a contact's customer


class Conversion:
    def __init__(self, service):
        self.svc = service
        self.meta = service.meta
        self.t = service.t

    # ------------------------------------------------------------ reading
    def available(self) -> bool:
        """Whether this site's metadata has what a conversion writes."""
        lead = self.meta.entities.get("lead")
        return (lead is not None and all(n in self.meta.entities for n in ("customer", "contact"))
                and all(lead.has_field(f) for f in ("status", "converted_customer")))

    def can_convert(self, lead: dict) -> bool:
        """Whether the actor may convert this lead now: it is open (not converted, not
        unqualified), not waiting for approval, and they may change it and create customers."""
        if not self.available() or lead.get("id") is None:
            return False
        entity = self.meta.entity("lead")
        policy = self.svc.policy
        return (not self.is_converted(lead) and lead.get("status") not in CLOSED and not self.svc.locked(lead)
                and policy.can(self.meta.entity("customer"), "create") and policy.can(entity, "write", lead))

    @staticmethod
    def is_converted(lead: dict) -> bool:
        return lead.get("converted_customer") is not None or lead.get("status") == "converted"

    def proposal(self, lead: dict) -> dict[str, dict]:
        """What the lead would become: values for a new customer, contact and opportunity."""
        customer = self._copy("customer", lead, CUSTOMER_FROM_LEAD)
        contact = self._copy("contact", lead, CONTACT_FROM_LEAD)
        if self.meta.entity("contact").has_field("is_primary"):
            contact["is_primary"] = True
        opportunity = {}
        if "opportunity" in self.meta.entities:
            opportunity = self._copy("opportunity", lead, OPPORTUNITY_FROM_LEAD)
            ent = self.meta.entity("opportunity")
            if ent.has_field("expected_close"):
                opportunity["expected_close"] = dt.date.today() + dt.timedelta(days=90)
            if ent.has_field("lead"):
                opportunity["lead"] = lead["id"]
        return {"customer": customer, "contact": contact, "opportunity": opportunity}

    def _copy(self, target: str, lead: dict, mapping: dict[str, str]) -> dict:
        entity = self.meta.entity(target)
        out = {}
        for to, source in mapping.items():
            if not entity.has_field(to) or lead.get(source) in (None, "") or not self.svc.policy.can_edit_field(entity, to):
                continue
            value = lead[source]
            fld = entity.field(to)
            if fld.type == "picklist":  # a key of another list only where the target's list offers it
                option = self.meta.picklists[fld.picklist].option(value)
                if option is None or option.retired:
                    continue
            out[to] = value
        return out

    def duplicates(self, customer: dict | None, contact: dict | None) -> list[Duplicate]:
        """Records the actor can see that look like the new ``customer`` / ``contact`` values:
        a customer of the same name or tax number, a contact with the same mobile."""
        found: list[Duplicate] = []
        seen: set[tuple[str, int]] = set()

        def look(entity_name: str, field: str, value, reason: str) -> None:
            entity = self.meta.entities.get(entity_name)
            if value in (None, "") or entity is None or not entity.has_field(field) \
                    or field in self.svc.policy.hidden_fields(entity):
                return
            value = str(value).strip()
            query = ListQuery(filters=[Filter(field, "eq", (value,), (value,))], per_page=10)
            columns = [entity.title_field] + (["customer"] if entity.has_field("customer") else [])
            for row in self.svc.list(entity_name, query, columns).rows:
                if (entity_name, row["id"]) not in seen:
                    seen.add((entity_name, row["id"]))
                    found.append(Duplicate(entity_name, row["id"], self.svc.title_of(entity, row), reason,
                                           row.get("customer") if entity_name == "contact" else None))

        if customer:
            look("customer", "name", customer.get("name"), "name")
            look("customer", "tax_number", customer.get("tax_number"), "tax_number")
        if contact:
            look("contact", "mobile", contact.get("mobile"), "mobile")
        return found

    # ------------------------------------------------------------ convert
    def convert_lead(self, lead_id: int, choices: dict | None = None) -> dict:
        """Convert the lead as ``choices`` say; all or nothing. Returns the ids made or linked:
        ``{"lead": record, "customer": id, "contact": id | None, "opportunity": id | None}``."""
        if not self.available():
            raise NotFound(self.t("Leads cannot be converted on this site.", "此站点不支持线索转化。"))
        choices = choices if isinstance(choices, dict) else {}
        lead_entity = self.svc.entity("lead")
        svc = self.svc
        with svc.site.writing() as c:
            lead = svc._fetch(lead_entity, lead_id, conn=c)  # 404 for a lead they cannot see
            svc.policy.require(lead_entity, "write", lead, conn=c)
            svc.refuse_if_locked(lead_entity, lead)
            if self.is_converted(lead):
                raise WorkflowError(self.t("This lead has already been converted.", "此线索已经转化过了。"))
            if lead.get("status") in CLOSED:
                raise WorkflowError(self.t("An unqualified lead is not converted; mark it qualified first.",
                                           "无效线索不能转化；请先将其改为有效线索。"))
            plan = self._plan(lead, choices)
            for part, (mode, _value) in plan.items():
                if mode == "new":
                    svc.policy.require(self.meta.entity(part), "create")
            if not choices.get("allow_duplicates"):  # first: linking one may be the answer
                dups = self.duplicates(plan["customer"][1] if plan["customer"][0] == "new" else None,
                                       plan["contact"][1] if plan["contact"][0] == "new" else None)
                if dups:
                    raise PossibleDuplicates(self.t(
                        "Records like these exist already. Link one of them, or confirm to create new ones.",
                        "已存在相似的记录。请关联其中一条，或确认仍然新建。"), dups)
            errors = self._check(plan, c)
            if errors:
                raise RecordInvalid(errors)
            ids = self._create(plan, c)
            lead = self._mark(c, lead_entity, lead, ids)
        return {"lead": lead, **ids}

    def _plan(self, lead: dict, choices: dict) -> dict[str, tuple[str, object]]:
        """(mode, values or id) per part, the proposal merged with what the caller chose."""
        proposal = self.proposal(lead)
        plan: dict[str, tuple[str, object]] = {}
        for part in PARTS:
            choice = choices.get(part)
            choice = choice if isinstance(choice, dict) else {}
            default = "new" if part in ("customer", "contact") else "none"
            mode = choice.get("mode", default)
            allowed = ("new", "existing") if part == "customer" else (
                ("new", "existing", "none") if part == "contact" else ("new", "none"))
            if part not in self.meta.entities:
                mode = "none"
            if mode not in allowed:
                raise RecordInvalid({part: [self.t("Choose what to do.", "请选择处理方式。")]})
            if mode == "existing":
                plan[part] = (mode, _int(choice.get("id")))
            elif mode == "new":
                values = dict(proposal[part])
                given = choice.get("values")
                if isinstance(given, dict):
                    values.update(given)
                plan[part] = (mode, values)
            else:
                plan[part] = (mode, None)
        return plan

    def _check(self, plan: dict, conn) -> dict[str, list[str]]:
        """Every problem of every part at once; nothing is written."""
        svc = self.svc
        errors: dict[str, list[str]] = {}
        customer_id = None
        mode, value = plan["customer"]
        if mode == "existing":
            customer_id = self._readable("customer", value, conn, errors)
        else:
            _, found = svc.check("customer", value)
            _merge(errors, "customer", found)
        mode, value = plan["contact"]
        if mode == "existing":
            contact_id = self._readable("contact", value, conn, errors)
            if contact_id is not None and customer_id is not None:
                contact = svc.get("contact", contact_id, conn=conn)
                if contact.get("customer") != customer_id:
                    errors.setdefault("contact", []).append(self.t(
                        "This contact belongs to another customer.", "此联系人属于其他客户。"))
            elif contact_id is not None and plan["customer"][0] == "new":
                errors.setdefault("contact", []).append(self.t(
                    "An existing contact can only be linked with its own customer.", "已有联系人只能与其所属客户一起关联。"))
        elif mode == "new":
            _, found = svc.check("contact", {k: v for k, v in value.items() if k != "customer"})
            _merge(errors, "contact", found, skip={"customer"})
        mode, value = plan["opportunity"]
        if mode == "new":
            _, found = svc.check("opportunity", {k: v for k, v in value.items() if k not in ("customer", "contact")})
            _merge(errors, "opportunity", found, skip={"customer", "contact"})
        return errors

    def _readable(self, entity_name: str, record_id, conn, errors) -> int | None:
        if record_id is not None:
            try:
                return self.svc.get(entity_name, record_id, conn=conn)["id"]
            except NotFound:
                pass
        errors.setdefault(entity_name, []).append(self.t(
            "Choose an existing record you can see.", "请选择一条存在且您可查看的记录。"))
        return None

    def _create(self, plan: dict, conn) -> dict:
        """Create the new parts in the conversion's transaction (a failure undoes them all)."""
        svc = self.svc
        ids: dict[str, int | None] = {"customer": None, "contact": None, "opportunity": None}
        created: dict[str, bool] = {}
        for part in PARTS:
            mode, value = plan[part]
            created[part] = mode == "new"
            if mode == "existing":
                ids[part] = value
            elif mode == "new":
                values = dict(value)
                entity = self.meta.entity(part)
                for link in ("customer", "contact"):
                    if part != link and entity.has_field(link) and ids.get(link) is not None:
                        values[link] = ids[link]
                try:
                    ids[part] = svc.create(part, values, conn=conn)["id"]
                except RecordInvalid as exc:
                    raise RecordInvalid({f"{part}.{k}": v for k, v in exc.errors.items()}) from None
        return {**ids, "created": created}

    def _mark(self, conn, entity, lead: dict, ids: dict) -> dict:
        """The lead becomes converted, linked to what it became (a new row version, history)."""
        svc = self.svc
        table = svc.tables[entity.name]
        now = dt.datetime.now().replace(microsecond=0)
        wanted = {"status": "converted", "converted_customer": ids["customer"], "converted_contact": ids["contact"],
                  "converted_opportunity": ids["opportunity"], "converted_at": now, "converted_by": svc.actor.id}
        values = {k: v for k, v in wanted.items() if k in table.c and entity.has_field(k)}
        changes = [(k, lead.get(k), v) for k, v in values.items() if lead.get(k) != v]
        version = svc._claim(conn, entity, lead, values)["row_version"]  # a lead changed meanwhile: Conflict
        svc._history(conn, entity, lead["id"], version, "convert", changes)
        record = svc.get(entity.name, lead["id"], conn=conn)
        svc.site.pm.hook.after_record_save(service=svc, entity=entity, record=record, created=False, conn=conn)
        return record


def _merge(errors: dict, part: str, found: dict, skip=frozenset()) -> None:
    for key, messages in found.items():
        if key.split(".")[0] not in skip:
            errors.setdefault(f"{part}.{key}", []).extend(messages)


def _int(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**31 else None
