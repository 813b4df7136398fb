"""Approvals: latency of submit and approve through the record service, and of the inbox
(service call and full page) for a manager with many tasks waiting.

    python bench/approvals.py --db sqlite:////tmp/kehu-bench-approvals.db --quotes 1000
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parent))
from common import admin_user, make_app, percentile  # noqa: E402


def org(site):
    """A manager with one rep, in a department of its own; the general manager above."""
    users, depts = site.tables.users, site.tables.departments
    with site.engine.connect() as c:
        found = dict(c.execute(sa.select(users.c.username, users.c.id).where(users.c.username.like("bench_%"))).all())
    if found:
        return found["bench_rep"], found["bench_manager"], found["bench_gm"]
    now = dt.datetime.now()
    with site.writing() as c:
        gm = site.create_user("bench_gm", "bench-pw", "Bench GM", roles=("general_manager",), conn=c)
        top = c.execute(sa.insert(depts).values(name="Bench HQ", manager_id=gm, created_at=now).returning(depts.c.id)).scalar_one()
        manager = site.create_user("bench_manager", "bench-pw", "Bench manager", roles=("sales_manager",), conn=c)
        sales = c.execute(sa.insert(depts).values(name="Bench sales", parent_id=top, manager_id=manager, created_at=now)
                          .returning(depts.c.id)).scalar_one()
        c.execute(sa.update(users).where(users.c.id.in_((gm, manager))).values(department_id=top))
        c.execute(sa.update(users).where(users.c.id == manager).values(department_id=sales))
        rep = site.create_user("bench_rep", "bench-pw", "Bench rep", roles=("sales_rep",), department_id=sales, conn=c)
    return rep, manager, gm


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def report(name: str, ms: list[float]) -> None:
    print(f"{name:<34} median {statistics.median(ms):7.2f} ms   p95 {percentile(ms, 95):7.2f} ms   (n={len(ms)})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--quotes", type=int, default=1000)
    args = parser.parse_args()
    app, site = make_app(args.db)
    admin = site.records(site.actor(site.user(admin_user(site))), "en")
    rep_id, manager_id, _gm = org(site)
    rep = site.records(site.actor(site.user(rep_id)), "en")
    manager = site.records(site.actor(site.user(manager_id)), "en")
    customer = rep.create("customer", {"name": f"审批基准客户{time.time_ns()}", "category": "customer", "value_tier": "c",
                                       "province": "shaanxi", "city": "xian"})
    quotes = [rep.create("quote", {"subject": f"基准报价 {i}", "customer": customer["id"], "discount_percent": "25"})
              for i in range(args.quotes)]
    submit_ms = [timed(lambda q=q: rep.approvals.submit("quote", q["id"])) for q in quotes]
    inbox_ms = [timed(lambda: manager.approvals.inbox()) for _ in range(20)]
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/-/login").get_data(as_text=True)).group(1)
    client.post("/-/login", data={"username": "bench_manager", "password": "bench-pw", "csrf_token": token})
    page_ms = [timed(lambda: client.get("/-/approvals")) for _ in range(20)]
    waiting = manager.approvals.inbox(limit=args.quotes)
    approve_ms = [timed(lambda t=t: manager.approvals.approve(t["id"], "ok")) for t in waiting]
    print(f"database: {site.engine.dialect.name}; {args.quotes} quotes with a 25% discount (two steps each)")
    report("submit (record service)", submit_ms)
    report("approve step 1 (record service)", approve_ms)
    report(f"inbox, {len(waiting)} waiting (service)", inbox_ms)
    report("inbox page (HTTP, 200 rows shown)", page_ms)
    del admin


if __name__ == "__main__":
    main()
