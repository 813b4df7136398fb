"""Money and decimals are exact on both databases. SQLite kept SQLAlchemy's Numeric as REAL
(1234567890123456.78 came back as 1234567890123456.8); Kehu now stores a scaled whole
number there, and schema sync converts an existing SQLite database once, declared in the
plan, without losing what it held."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from kehu import hookspecs
from kehu.db.sync import SyncRefused
from kehu.fields.builtin import Currency, DecimalType, Percent
from kehu.site import Site
from kehu_testing import FIXTURE_PACK, write

BOUNDARY = [
    ("revenue", "4999999999999999.99"),  # the largest whose double (a formula) still fits NUMERIC(18, 2)
    ("revenue", "1234567890123456.78"),  # what REAL rounded to ...56.8
    ("revenue", "0.01"),
    ("ratio", "999999999999999.999"),  # NUMERIC(18, 3)
    ("ratio", "-999999999999999.999"),
    ("ratio", "-0.001"),
    ("discount", "99.99"),
]


@pytest.mark.parametrize(("field", "value"), BOUNDARY)
def test_boundary_values_come_back_exactly(svc, field, value):
    record = svc.create("account", {"name": "Acme", field: value})
    stored = svc.get("account", record["id"])[field]
    assert isinstance(stored, Decimal) and stored == Decimal(value) and str(stored) == value


def test_filters_and_sorting_tell_the_last_cent_apart(svc):
    from kehu.records.query import Filter, ListQuery

    svc.create("account", {"name": "Low", "revenue": "1234567890123456.78"})
    svc.create("account", {"name": "High", "revenue": "1234567890123456.79"})
    flt = Filter("revenue", "gte", (Decimal("1234567890123456.79"),), ("1234567890123456.79",))
    assert [r["name"] for r in svc.list("account", ListQuery(filters=[flt]), ["name"]).rows] == ["High"]
    flt = Filter("revenue", "eq", (Decimal("1234567890123456.78"),), ("1234567890123456.78",))
    assert [r["name"] for r in svc.list("account", ListQuery(filters=[flt]), ["name"]).rows] == ["Low"]
    by_revenue = svc.list("account", ListQuery(sort=("revenue", True)), ["name"]).rows
    assert [r["name"] for r in by_revenue] == ["High", "Low"]


def test_line_amounts_and_totals_stay_decimals(svc):
    record = svc.create("account", {"name": "Acme", "revenue": "0.10", "lines": [
        {"item": "a", "quantity": "3", "price": "19.99"}, {"item": "b", "quantity": "0.10", "price": "0.20"}]})
    stored = svc.get("account", record["id"])
    assert [line["amount"] for line in stored["lines"]] == [Decimal("59.97"), Decimal("0.02")]
    assert stored["lines_total"] == Decimal("59.99") and isinstance(stored["lines_total"], Decimal)
    assert stored["double_revenue"] == Decimal("0.20")
    assert sum(line["amount"] for line in stored["lines"]) == Decimal("59.99")  # never 59.989999...


# ---------------------------------------------- converting an old SQLite database
class _OldDecimal(DecimalType):
    def column_type(self, field):
        return sa.Numeric(18, self.scale(field))


class _OldCurrency(Currency):
    def column_type(self, field):
        return sa.Numeric(18, 2)


class _OldPercent(Percent):
    def column_type(self, field):
        return sa.Numeric(18, self.scale(field))


class _OldStorage:
    """How Kehu declared decimal columns before: plain NUMERIC, which SQLite keeps as REAL."""

    @hookspecs.hookimpl
    def register_field_types(self):
        return [_OldDecimal, _OldCurrency, _OldPercent]


def _old_database(tmp_path, packs=None):
    url = f"sqlite:///{tmp_path}/old.db"
    old = Site(url, packs or [FIXTURE_PACK], tmp_path, plugins=[_OldStorage()])
    old.migrate()
    user = old.create_user("admin", "secret-pw", "Admin", is_admin=True, locale="en")
    return url, old, old.records(old.actor(old.user(user)), "en")


def _raw(url, sql):
    engine = sa.create_engine(url)
    try:
        with engine.connect() as c:
            return c.exec_driver_sql(sql).all()
    finally:
        engine.dispose()


def test_an_old_sqlite_database_is_converted_once_without_losing_values(tmp_path):
    url, old, svc = _old_database(tmp_path)
    first = svc.create("account", {"name": "Acme", "revenue": "1234567890123.45", "ratio": "1.235", "discount": "12.5",
                                   "lines": [{"item": "x", "quantity": "3", "price": "19.99"}]})
    svc.create("account", {"name": "Empty"})
    old.engine.dispose()
    assert _raw(url, "SELECT typeof(revenue), typeof(ratio) FROM account WHERE name = 'Acme'") == [("real", "real")]

    new = Site(url, [FIXTURE_PACK], tmp_path)
    steps = [str(s) for s in new.plan().steps]
    assert "store account.revenue exactly: NUMERIC (kept as REAL by SQLite) -> whole numbers of 10^-2" in steps
    assert "store account_line.price exactly: NUMERIC (kept as REAL by SQLite) -> whole numbers of 10^-2" in steps
    assert not new.plan().refused
    new.migrate()
    assert new.plan().empty  # converted once: a second run has nothing to do
    new.migrate()
    after = new.records(new.actor(new.user(1)), "en").get("account", first["id"])
    assert (after["revenue"], after["ratio"], after["discount"]) == (
        Decimal("1234567890123.45"), Decimal("1.235"), Decimal("12.50"))
    assert [(line["quantity"], line["price"]) for line in after["lines"]] == [(Decimal("3.00"), Decimal("19.99"))]
    assert _raw(url, "SELECT revenue, ratio FROM account ORDER BY id") == [(123456789012345, 1235), (None, None)]
    new.engine.dispose()


def test_a_value_that_does_not_fit_refuses_the_conversion_and_changes_nothing(tmp_path):
    url, old, svc = _old_database(tmp_path)
    svc.create("account", {"name": "Acme", "revenue": "10.50"})
    with old.engine.begin() as c:  # written by another tool: far beyond NUMERIC(18, 2)
        c.exec_driver_sql("UPDATE account SET ratio = 1e300")
    old.engine.dispose()
    new = Site(url, [FIXTURE_PACK], tmp_path)
    with pytest.raises(SyncRefused) as info:
        new.migrate()
    assert "value 1e+300 of row 1 does not fit" in str(info.value)
    assert _raw(url, "SELECT revenue, typeof(revenue) FROM account") == [(10.5, "real")]  # rolled back whole
    assert "revenue NUMERIC(18, 2)" in _raw(url, "SELECT sql FROM sqlite_master WHERE name = 'account'")[0][0]
    new.engine.dispose()


def test_a_new_scale_rescales_the_stored_values(tmp_path, db_url):
    pack = tmp_path / "pack"
    import shutil

    shutil.copytree(FIXTURE_PACK, pack)
    entity = pack / "metadata" / "entities" / "account.yaml"
    site = Site(db_url, [pack], tmp_path)
    site.migrate()
    user = site.create_user("admin", "secret-pw", "Admin", is_admin=True, locale="en")
    record = site.records(site.actor(site.user(user)), "en").create("account", {"name": "Acme", "ratio": "-12.345"})
    site.engine.dispose()
    write(pack, "metadata/entities/account.yaml", entity.read_text(encoding="utf-8").replace("    scale: 3\n", "    scale: 5\n"))
    wider = Site(db_url, [pack], tmp_path)
    assert not wider.plan().refused
    wider.migrate()
    assert wider.plan().empty
    value = wider.records(wider.actor(wider.user(user)), "en").get("account", record["id"])["ratio"]
    assert value == Decimal("-12.345") and str(value) == "-12.34500"
    wider.engine.dispose()
