"""Fill the customer table with N rows of realistic shape (bulk insert, benchmark only)."""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parent))
from common import admin_user, make_app  # noqa: E402

CITIES = [("shaanxi", "xian"), ("shaanxi", "baoji"), ("gansu", "lanzhou"), ("beijing", "beijing"),
          ("shanghai", "shanghai"), ("guangdong", "guangzhou"), ("guangdong", "shenzhen"), ("sichuan", "chengdu")]
WORDS = "华信 金诚 天佑 博远 恒通 瑞丰 中科 新希望 宏达 东方 万通 长城 联创 盛世 鼎立 汇智".split()
TRADES = "电子科技 商贸 信息技术 机电设备 网络工程 系统集成 贸易 实业".split()


def make_org(site) -> list[int]:
    """A sales organisation six levels deep (1 + 2 + 4 + 8 + 16 + 32 departments), a manager
    (role sales_manager) at the head of each, two reps (role sales_rep) in each leaf; users
    bench_mgr_<dept> and bench_rep_<n>, password bench-pw. Returns the salespeople's ids."""
    departments = site.tables.departments
    users = site.tables.users
    with site.engine.connect() as conn:
        existing = conn.execute(sa.select(users.c.id).where(users.c.username.like("bench_rep_%"))).scalars().all()
    if existing:
        return list(existing)
    people: list[int] = []
    now = dt.datetime(2026, 11, 1)
    with site.writing() as conn:
        level = [None]
        index = 0
        for depth in range(6):
            next_level = []
            for parent in level:
                for _ in range(1 if depth == 0 else 2):
                    index += 1
                    dept = conn.execute(sa.insert(departments).values(
                        name=f"销售{depth + 1}级部门{index}", parent_id=parent, created_at=now).returning(departments.c.id)).scalar_one()
                    manager = site.create_user(f"bench_mgr_{index}", "bench-pw", f"经理{index}", roles=["sales_manager"],
                                               department_id=dept, conn=conn)
                    conn.execute(sa.update(departments).where(departments.c.id == dept).values(manager_id=manager))
                    people.append(manager)
                    next_level.append(dept)
            level = next_level
        for n, dept in enumerate(level * 2, start=1):
            people.append(site.create_user(f"bench_rep_{n}", "bench-pw", f"销售{n}", roles=["sales_rep"],
                                           department_id=dept, conn=conn))
    return people


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--db", required=True)
    parser.add_argument("--org", action="store_true", help="a deep department tree with 64 salespeople owning the rows")
    args = parser.parse_args()
    app, site = make_app(args.db)
    owner = admin_user(site)
    owners = make_org(site) if args.org else [owner]
    table = site.tables["customer"]
    meta = site.metadata
    picks = {name: [o.key for o in meta.picklists[meta.entity("customer").field(name).picklist].options]
             for name in ("category", "industry", "source")}
    rng = random.Random(7)
    with site.engine.connect() as conn:
        start_count = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    anchor = dt.datetime(2026, 11, 1, 9, 0)
    started = time.perf_counter()
    batch = []
    for i in range(start_count, start_count + args.rows):
        province, city = rng.choice(CITIES)
        created = anchor - dt.timedelta(minutes=rng.randrange(0, 3 * 365 * 24 * 60))
        batch.append({
            "code": f"CUS-B{i:07d}", "name": f"{city}{rng.choice(WORDS)}{rng.choice(TRADES)}有限公司{i}",
            "category": rng.choice(picks["category"]), "industry": rng.choice(picks["industry"]),
            "value_tier": rng.choices("abcd", weights=(5, 15, 40, 40))[0], "source": rng.choice(picks["source"]),
            "province": province, "city": city, "employees": rng.randrange(3, 5000),
            "annual_revenue": rng.randrange(100_000, 500_000_000), "phone": f"029-88{rng.randrange(100000, 999999)}",
            "owner": (who := rng.choice(owners)), "created_by": who, "updated_by": who, "created_at": created, "updated_at": created,
            "row_version": 1,
        })
        if len(batch) == 5000:
            with site.engine.begin() as conn:
                conn.execute(sa.insert(table), batch)
            batch = []
    if batch:
        with site.engine.begin() as conn:
            conn.execute(sa.insert(table), batch)
    elapsed = time.perf_counter() - started
    if site.engine.dialect.name == "postgresql":
        with site.engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))
    else:
        with site.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    print(f"inserted {args.rows:,} customers in {elapsed:.1f}s ({args.rows / elapsed:,.0f} rows/s, bulk)")


if __name__ == "__main__":
    main()
