"""p50/p95 of the customer list page: filter on a picklist and a number, sort by date, 50 rows."""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).parent))
from common import admin_user, make_app, percentile  # noqa: E402

QUERIES = {
    "filter tier + revenue, sort -created_at": "/app/customer/?f.value_tier.eq=b&f.annual_revenue.gte=50000000&sort=-created_at&per_page=50",
    "filter category, sort -created_at, page 20": "/app/customer/?f.category.eq=customer&sort=-created_at&per_page=50&page=20",
    "no filter, default sort": "/app/customer/?per_page=50",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3, help="repeat and report each round (shared machines are noisy)")
    parser.add_argument("--as", dest="username", default="bench", help="sign in as this user (bench: admin; "
                        "bench_mgr_1: the head of the deep tree; bench_rep_1: a rep), see generate.py --org")
    args = parser.parse_args()
    app, site = make_app(args.db)
    admin_user(site)
    client = app.test_client()
    token_page = client.get("/-/login").get_data(as_text=True)
    token = token_page.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/-/login", data={"username": args.username, "password": "bench-pw", "csrf_token": token})
    me = site.authenticate(args.username, "bench-pw")
    assert me is not None, f"no user {args.username}; run generate.py --org first"
    statements = []
    event.listen(site.engine, "before_cursor_execute", lambda *a, **k: statements.append(1))
    visible = site.records(site.actor(me)).count("customer")
    print(f"database: {site.engine.dialect.name}; signed in as {args.username}; customers they can see: {visible:,}")
    for name, url in QUERIES.items():
        for _ in range(20):  # warm-up
            assert client.get(url).status_code == 200
        for round_ in range(1, args.rounds + 1):
            timings = []
            statements.clear()
            for _ in range(args.requests):
                started = time.perf_counter()
                response = client.get(url, headers={"HX-Request": "true"})
                timings.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200
            per_request = len(statements) / args.requests
            print(f"{name:45s} round {round_}: p50 {statistics.median(timings):6.2f} ms  p95 {percentile(timings, 95):6.2f} ms  "
                  f"p99 {percentile(timings, 99):6.2f} ms  SQL/request {per_request:.1f}")


if __name__ == "__main__":
    main()
