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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--db", required=True)
    args = parser.parse_args()
    app, site = make_app(args.db)
    owner = admin_user(site)
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
            "owner": owner, "created_by": owner, "updated_by": owner, "created_at": created, "updated_at": created,
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
