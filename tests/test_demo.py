"""The demo loader fills every entity through the record service, deterministically."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from kehu.demo import DEMO_PASSWORD, load_demo
from kehu.metadata.loader import base_pack_path, discover_packs
from kehu.records.query import ListQuery
from kehu.site import Site


def fresh_site(path) -> Site:
    path.mkdir(parents=True, exist_ok=True)
    site = Site(f"sqlite:///{path}/d.db", discover_packs(base_pack_path(), base_pack_path() / "plugins"), path)
    site.migrate()
    return site


def customer_names(site: Site, actor) -> list[str]:
    page = site.records(actor).list("customer", ListQuery(sort=("id", False), per_page=10_000), ["name"])
    return [row["name"] for row in page.rows]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    site = fresh_site(tmp_path_factory.mktemp("demo"))
    logins = load_demo(site, scale=0.02)
    admin = site.authenticate("admin", DEMO_PASSWORD)
    return site, logins, admin


def test_logins_exist_and_authenticate(loaded):
    site, logins, admin = loaded
    assert admin is not None and admin["is_admin"]
    usernames = [login[0] for login in logins]
    assert usernames[0] == "admin" and len(usernames) >= 10 and len(set(usernames)) == len(usernames)
    for username, password, description in logins:
        assert password == DEMO_PASSWORD and description
    staff = site.authenticate(usernames[-1], DEMO_PASSWORD)
    assert staff is not None and not staff["is_admin"]
    assert site.authenticate("admin", "wrong password") is None


def test_every_entity_has_records(loaded):
    site, _, admin = loaded
    svc = site.records(site.actor(admin))
    empty = [name for name, entity in site.metadata.entities.items()
             if not entity.child_of and svc.count(name) == 0]
    assert empty == []
    assert "repair_order" in site.metadata.entities  # the it_service pack is loaded
    # child lines were written too
    assert svc.count("quote_line") > 0 and svc.count("sales_order_line") > 0


def test_records_are_spread_over_salespeople(loaded):
    site, _, admin = loaded
    page = site.records(site.actor(admin)).list("customer", ListQuery(per_page=1000), ["owner"])
    assert len({row["owner"] for row in page.rows}) >= 3


def test_customer_codes_follow_the_coding_rule(loaded):
    site, _, admin = loaded
    page = site.records(site.actor(admin)).list("customer", ListQuery(per_page=1000), ["code", "name"])
    assert page.rows
    for row in page.rows:
        assert re.fullmatch(r"CUS-\d{6}-\d{4}", row["code"]), row["code"]
        assert row["name"].endswith(("公司", "医院", "中学", "学院", "中心")), row["name"]


def test_quote_total_is_sum_of_lines_less_discount(loaded):
    site, _, admin = loaded
    svc = site.records(site.actor(admin))
    page = svc.list("quote", ListQuery(per_page=100), ["id"])
    assert page.rows
    for row in page.rows:
        quote = svc.get("quote", row["id"])
        assert 1 <= len(quote["lines"]) <= 5
        lines = sum((line["amount"] for line in quote["lines"]), Decimal(0))
        for line in quote["lines"]:
            expected_line = line["quantity"] * line["unit_price"] * (100 - line["discount_percent"]) / 100
            assert line["amount"] == expected_line.quantize(Decimal("0.01"))
        assert quote["subtotal"] == lines.quantize(Decimal("0.01"))
        expected = lines * (100 - (quote["discount_percent"] or 0)) / 100
        assert quote["total_amount"] == expected.quantize(Decimal("0.01"))


def test_same_seed_gives_same_data(loaded, tmp_path):
    site, _, admin = loaded
    first = customer_names(site, site.actor(admin))
    other = fresh_site(tmp_path / "again")
    load_demo(other, scale=0.02)
    again = customer_names(other, other.actor(other.authenticate("admin", DEMO_PASSWORD)))
    assert first == again and len(first) == len(set(first)) > 0


def test_refuses_a_site_that_already_has_customers(loaded):
    site, _, _ = loaded
    with pytest.raises(RuntimeError):
        load_demo(site, scale=0.02)


def test_records_waiting_for_approval_went_through_their_workflow(loaded):
    """A demo quote 'pending approval' is really pending: locked, with a task for the rep's
    manager, not just a status value."""
    import sqlalchemy as sa

    site, _logins, admin = loaded
    t = site.tables
    svc = site.records(site.actor(admin))
    with site.reading() as c:
        approvals = c.execute(sa.select(t.approval)).mappings().all()
        pending_quotes = c.execute(sa.select(t["quote"].c.id, t["quote"].c.owner, t["quote"].c.workflow_state,
                                             t["quote"].c.discount_percent)
                                   .where(t["quote"].c.status == "pending_approval")).all()
        depts = {d.id: d for d in c.execute(sa.select(t.departments)).all()}
        dept_of = dict(c.execute(sa.select(t.users.c.id, t.users.c.department_id)).all())
    assert pending_quotes, "the demo has quotes waiting for approval"
    assert {a["workflow"] for a in approvals} <= set(site.metadata.workflows)
    for quote_id, owner, state, discount in pending_quotes:
        assert state == "pending" and discount > 10
        current = svc.approvals.current("quote", quote_id)
        assert current["state"] == "pending" and current["workflow"] == "quote_discount"
        manager = depts[dept_of[owner]].manager_id
        if manager == owner:  # a manager's own quote goes one level up
            manager = depts[depts[dept_of[owner]].parent_id].manager_id
        first = [task for task in current["tasks"] if task.step == "sales_manager"]
        assert [task.assignee_id for task in first] == [manager]
        if first[0].state == "approved":  # passed the manager: over 20% it waits for the general manager
            assert current["current_step"].name == "general_manager" and discount > 20
    codes = {d.code for d in depts.values()}
    assert {"finance", "warehouse", "commerce", "sales", "service"} <= codes
    assert all(depts[d].manager_id for d in depts if depts[d].code in ("finance", "warehouse", "commerce"))


LINE_COPY = ("product", "quantity", "unit", "unit_price", "discount_percent", "description")


def test_orders_made_from_quotes_carry_their_customer_contact_and_lines(loaded):
    site, _, admin = loaded
    svc = site.records(site.actor(admin))
    orders = [svc.get("sales_order", row["id"]) for row in svc.list("sales_order", ListQuery(per_page=200), ["quote"]).rows]
    from_quotes = [o for o in orders if o["quote"]]
    assert from_quotes
    for order in from_quotes:
        quote = svc.get("quote", order["quote"])
        assert (order["customer"], order["contact"], order["discount_percent"]) == (
            quote["customer"], quote["contact"], quote["discount_percent"])
        assert [tuple(line[k] for k in LINE_COPY) for line in order["lines"]] == [
            tuple(line[k] for k in LINE_COPY) for line in quote["lines"]]
        assert quote["status"] in ("accepted", "approved")


def test_orders_past_draft_were_signed_off_and_carry_their_step_dates(loaded):
    site, _, admin = loaded
    svc = site.records(site.actor(admin))
    rows = svc.list("sales_order", ListQuery(per_page=200), ["status", "workflow_state", "order_date", "confirmed_on",
                                                            "shipped_on", "delivered_on", "invoiced_on", "paid_on"]).rows
    moved = [r for r in rows if r["status"] not in ("draft", "cancelled")]
    assert any(r["status"] in ("delivered", "invoiced", "paid", "completed") for r in moved)
    steps = ("confirmed", "shipped", "delivered", "invoiced", "paid")
    for row in moved:
        assert row["workflow_state"] == "approved", row
        reached = steps[: steps.index(row["status"]) + 1] if row["status"] in steps else steps
        dates = [row[f"{step}_on"] for step in reached]
        assert all(dates) and dates == sorted(dates) and dates[0] >= row["order_date"], row


def test_returns_take_lines_of_their_order_and_never_more_than_delivered(loaded):
    import sqlalchemy as sa

    site, _, admin = loaded
    svc = site.records(site.actor(admin))
    returns = [svc.get("return_order", r["id"]) for r in svc.list("return_order", ListQuery(per_page=200), ["id"]).rows]
    assert returns and all(r["lines"] for r in returns)
    returned: dict[int, Decimal] = {}
    for ret in returns:
        order = svc.get("sales_order", ret["sales_order"])
        assert order["status"] in ("delivered", "invoiced", "paid", "completed")
        by_id = {line["id"]: line for line in order["lines"]}
        for line in ret["lines"]:
            assert line["order_line"] in by_id and by_id[line["order_line"]]["product"] == line["product"]
            if ret["status"] not in ("rejected", "cancelled"):
                returned[line["order_line"]] = returned.get(line["order_line"], Decimal(0)) + line["quantity"]
        total = sum((line["amount"] for line in ret["lines"]), Decimal(0)) * (100 - ret["discount_percent"]) / 100
        assert ret["amount"] == total.quantize(Decimal("0.01"))
    line_t = site.tables["sales_order_line"]
    with site.reading() as c:
        ordered = dict(c.execute(sa.select(line_t.c.id, line_t.c.quantity).where(line_t.c.id.in_(returned))).all())
    assert all(returned[i] <= ordered[i] for i in returned)


def test_converted_leads_went_through_the_conversion(loaded):
    site, _, admin = loaded
    svc = site.records(site.actor(admin))
    converted = svc.list("lead", ListQuery(per_page=200), ["status", "converted_customer", "converted_at"]).rows
    converted = [r for r in converted if r["status"] == "converted"]
    assert converted
    for row in converted:
        assert row["converted_customer"] and row["converted_at"]
        assert any(h["action"] == "convert" for h in svc.history("lead", row["id"]))
