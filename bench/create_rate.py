"""Records created per second through the record service (validation, coding rule, history)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import admin_user, make_app  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--rows", type=int, default=2000)
    args = parser.parse_args()
    app, site = make_app(args.db)
    svc = site.records(site.actor(site.user(admin_user(site))), "en")
    base = svc.count("customer")

    def values(i):
        return {"name": f"基准测试客户{base + i}", "category": "customer", "value_tier": "c", "province": "shaanxi",
                "city": "xian", "employees": str(i % 900), "annual_revenue": "1,200,000.00", "phone": "029-88350000"}

    started = time.perf_counter()
    for i in range(args.rows):
        svc.create("customer", values(i))
    one_by_one = args.rows / (time.perf_counter() - started)
    started = time.perf_counter()
    with site.writing() as conn:
        for i in range(args.rows, 2 * args.rows):
            svc.create("customer", values(i), conn=conn)
    batched = args.rows / (time.perf_counter() - started)
    print(f"database: {site.engine.dialect.name}")
    print(f"create, one transaction each : {one_by_one:8,.0f} records/s")
    print(f"create, one shared transaction: {batched:8,.0f} records/s")


if __name__ == "__main__":
    main()
