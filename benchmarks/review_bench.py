"""Access review benchmark (issue 12): prints figures, asserts nothing.

10,000 users × 200 stores × 50 ranges and 100,000 login events inside the review window, seeded
into the emulator on a loopback port. Prints the requests made (client counter and emulator
counter: list pages of the live state, plus the pages of ONE filtered audit query — never one
request per user), the fetch time, accessctl's own work (load + validate + review + render in all
four formats) and the ratio own / fetch. Then the same 100,000 logins through the plan's
`range_impact` check of a range deletion (pure, no network).

    .venv/bin/python benchmarks/review_bench.py [--users 10000] [--logins 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import math
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.plan_bench import PAGE, TOKEN, TOKEN_ENV, desired_yaml, world
from reconciler.runtime import tune_collector

TODAY = date(2025, 6, 1)
WINDOW = 90


def logins(org: dict[str, Any], n: int, seed: int = 11) -> list[dict[str, str]]:
    """`n` logins spread over the window: most from the office ranges, some from elsewhere."""
    rng = random.Random(seed)
    emails = [u["email"] for u in org["users"]]
    start = datetime.combine(TODAY - timedelta(days=WINDOW - 1), datetime.min.time(), UTC)
    seconds = (WINDOW - 1) * 86400
    found = []
    for _ in range(n):
        office = rng.randrange(1, 50)
        ip = (
            f"10.{office - 1}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            if rng.random() < 0.97
            else f"203.0.113.{rng.randrange(1, 255)}"
        )
        at = start + timedelta(seconds=rng.randrange(seconds))
        found.append({"email": rng.choice(emails), "ip": ip, "at": at.isoformat()})
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--logins", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    tune_collector()

    from reconciler.api import fetch_live_state
    from reconciler.api.fetch import _EVENTS, _many, _required
    from reconciler.emulator.testing import EmulatorProcess
    from reconciler.logins import fetch_events, logins_of, window_start
    from reconciler.pipeline import client_for, load_desired
    from reconciler.plan import Change
    from reconciler.range_impact import range_impact
    from reconciler.render.review import render_csv, render_json, render_markdown, render_text
    from reconciler.review import build

    org = world(args.users)
    history = logins(org, args.logins)
    seed = {
        "organizations": [
            {**org, "tokens": [{"token": TOKEN, "email": "root@bench.example"}],
             "logins": history},
        ]
    }  # fmt: skip
    print(f"== {args.users} users, {len(org['stores'])} stores, {len(org['ip_ranges'])} ranges, "
          f"{args.logins} logins in the {WINDOW}-day window (best of {args.repeat}); seeding …",
          flush=True)  # fmt: skip
    with EmulatorProcess(seed, timeout=600) as emu, tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.yaml"
        path.write_text(desired_yaml(org, emu.base_url), encoding="utf-8")
        environ = {TOKEN_ENV: TOKEN}
        since = window_start(TODAY, WINDOW)
        with client_for(emu.base_url, TOKEN_ENV, environ) as warm:  # connection set-up
            fetch_live_state(warm)
        t_load = t_fetch = t_check = t_review = t_render = math.inf
        stamp = quote(since.isoformat(timespec="seconds"))
        audit_query = f"/audit-events?since={stamp}&action=login&action=user.invited"
        for attempt in range(args.repeat):
            t0 = time.perf_counter()
            orgs, _ = load_desired([str(path)], today=TODAY)
            t_load = min(t_load, time.perf_counter() - t0)

            emu.reset_request_counts()
            client = client_for(emu.base_url, TOKEN_ENV, environ)
            t0 = time.perf_counter()
            live = fetch_live_state(client)
            events = fetch_events(client, since, ("login", "user.invited"))
            t_fetch = min(t_fetch, time.perf_counter() - t0)
            if attempt == 0:
                client_requests = client.request_count
                server = emu.request_counts()

            # The check of every audit event (the strict `AuditEvent` model), timed apart: it is
            # part of the fetch above.
            raw = client.list_all(audit_query)
            t0 = time.perf_counter()
            _required("/audit-events", raw.items)
            _many(_EVENTS, "/audit-events", raw)
            t_check = min(t_check, time.perf_counter() - t0)

            t0 = time.perf_counter()
            review = build(orgs[0], live, events, today=TODAY, since=since, days=WINDOW)
            t_review = min(t_review, time.perf_counter() - t0)
            client.close()

            t0 = time.perf_counter()
            sizes = {}
            for name, render in (("text", render_text), ("markdown", render_markdown),
                                 ("csv", render_csv), ("json", render_json)):  # fmt: skip
                out = io.StringIO()
                render([review], out)
                sizes[name] = len(out.getvalue())
            t_render = min(t_render, time.perf_counter() - t0)

    audit_pages = sum(v for k, v in server.items() if "audit" in k)
    live_pages = sum(math.ceil(max(n, 1) / PAGE) for n in (len(live.users), len(live.stores), 50))
    own = t_load + t_review + t_render
    counts = review.counts()
    print(f"users reviewed: {len(review.users)}  flagged: {len(review.flagged)}  "
          f"findings: {dict(sorted(counts.items()))}")  # fmt: skip
    print(f"login events read: {len(events)}")
    print(f"requests: client {client_requests}, emulator {sum(server.values())} "
          f"(live state: pages {live_pages} + 2; audit: {audit_pages} pages of one query; "
          f"{args.logins} / {PAGE} = {math.ceil(args.logins / PAGE)})")  # fmt: skip
    print(f"fetch (HTTP + parse):           {t_fetch:7.3f} s")
    print(f"  of which checking the events: {t_check:7.3f} s  ({len(events)} audit events)")
    print(f"load + validate:                {t_load:7.3f} s")
    print(f"review (last logins, findings): {t_review:7.3f} s")
    print(f"render (text+markdown+csv+json):{t_render:7.3f} s  (markdown {sizes['markdown']} "
          f"chars, csv {sizes['csv']})")  # fmt: skip
    print(f"own work:                       {own:7.3f} s")
    print(f"ratio own / fetch:              {own / t_fetch:7.3f}")

    office = next(r for r in live.ip_ranges or [] if r.cidr == "10.0.0.0/16")
    delete = Change(kind="ip_ranges", action="delete", address=f"ip_ranges/{office.name}",
                    id=office.id, before={"name": office.name, "cidr": office.cidr})  # fmt: skip
    window = logins_of(events, since)
    t0 = time.perf_counter()
    found = range_impact(live, [delete], window, orgs[0].config.policy)
    t_impact = time.perf_counter() - t0
    print(f"range_impact of deleting {office.cidr} over {len(window)} logins: "
          f"{len(found)} users cut off, {t_impact:.3f} s")  # fmt: skip


if __name__ == "__main__":
    main()
