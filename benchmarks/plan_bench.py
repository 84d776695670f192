"""Plan benchmark (SPEC §8): prints figures, asserts nothing.

1. 10,000 users × 200 stores × 50 ranges, seeded into the emulator on a loopback port; a desired
   YAML that differs a little. Prints the requests made (client counter and emulator counter,
   expected pages + 2), the fetch time, accessctl's own work (load + validate + diff + safety +
   render) and the ratio own / fetch (target ≤ 0.5).
2. `--whole-process`: the command as a user runs it. For each grant shape, five interleaved runs
   of `accessctl plan --format json` and of a bare stdlib fetch of the same live state (urllib +
   json, limit 200, each a fresh interpreter), their medians and ratio (target <= 2x); plus the
   start-up time (`accessctl --version`, median of five) and the machine's load average. Also
   the floor under any plan of this design: start Python, import the runtime dependencies, read
   the YAML's events with libyaml and fetch with requests, validating and comparing nothing.
   Every process reads compiled bytecode, as an installed package has it: the runs share a
   `PYTHONPYCACHEPREFIX` filled by a warm-up run of each command.
3. Peak memory of a 100,000-user plan (YAML load + diff + safety + render) against a synthetic
   in-memory live state, measured in a subprocess with resource.getrusage (target < 1 GiB).

    .venv/bin/python benchmarks/plan_bench.py [--users 10000] [--memory-users 100000]
    .venv/bin/python benchmarks/plan_bench.py --whole-process [--runs 5]

Both run with the garbage collector set as the `accessctl` command sets it (reconciler/runtime.py);
`--default-gc` keeps CPython's defaults, for comparison.
"""

from __future__ import annotations

import argparse
import gc
import io
import math
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reconciler.live import LiveOrganization, LiveRange, LiveState, LiveStore, LiveUser, Me
from reconciler.runtime import tune_collector

TODAY = date(2025, 6, 1)
ROLES = ["Admin", "User", "Settlement", "Disputes", "Read Only"]
PAGE = 200
TOKEN_ENV = "BENCH_TOKEN"
TOKEN = "bench-token-not-a-secret"


def world(
    n_users: int, n_stores: int = 200, n_ranges: int = 50, seed: int = 7, grants: str = "few"
) -> dict[str, Any]:
    """The live organization, as the emulator's seed shape. `grants`: "few" gives each user 1 to
    12 stores (written out in the YAML); "all" gives every user every store (`stores: all`)."""
    rng = random.Random(seed)
    stores = [{"id": f"MID{i:07d}", "name": f"Store {i}"} for i in range(n_stores)]
    ids = [s["id"] for s in stores]
    ranges = [{"name": "Loopback", "cidr": "127.0.0.0/8"}]
    ranges += [{"name": f"Office {i}", "cidr": f"10.{i}.0.0/16"} for i in range(n_ranges - 1)]
    users: list[dict[str, Any]] = [
        {"email": "root@bench.example", "role": "Super Admin", "stores": ids}
    ]
    for i in range(n_users - 1):
        users.append(
            {
                "email": f"user{i:06d}@bench.example",
                "role": rng.choice(ROLES),
                "stores": ids if grants == "all" else sorted(rng.sample(ids, rng.randint(1, 12))),
            }
        )
    return {
        "name": "bench",
        "plan": "ultimate",
        "technical_support_access": True,
        "stores": stores,
        "ip_ranges": ranges,
        "users": users,
    }


def desired_yaml(
    org: dict[str, Any], api_url: str, *, changes: int = 25, grants: str = "few"
) -> str:
    """The org as YAML, a little different: role changes, store grants, invites, a rename."""
    lines = [
        "organization: bench",
        "api:",
        f"  url: {api_url}",
        f"  token_env: {TOKEN_ENV}",
        "settings:",
        "  technical_support_access: false",
        "policy:",
        "  unmanaged_users: report",
        "stores:",
    ]
    lines += [f"  {s['id']}: {s['name']}" for s in org["stores"]]
    lines.append("ip_ranges:")
    for i, r in enumerate(org["ip_ranges"]):
        name = f"{r['name']} (renamed)" if i == 1 else r["name"]
        lines.append(f'  - {{name: {name}, cidr: "{r["cidr"]}"}}')
    lines.append("users:")
    for i, u in enumerate(org["users"]):
        role = u["role"]
        stores = u["stores"]
        if 0 < i <= changes:
            role = "Read Only" if role != "Read Only" else "User"
        elif changes < i <= 2 * changes:
            stores = sorted({*stores, org["stores"][0]["id"]})
        listed = "all" if grants == "all" else f"[{', '.join(stores)}]"
        lines.append(f"  - {{email: {u['email']}, role: {role}, stores: {listed}}}")
    for i in range(changes):
        lines.append(f"  - {{email: new{i}@bench.example, role: User, stores: [MID0000001]}}")
    return "\n".join(lines) + "\n"


def bench_emulator(n_users: int, grants: str, repeat: int, latency_ms: float = 0) -> None:
    from reconciler.api import fetch_live_state
    from reconciler.emulator.testing import EmulatorProcess
    from reconciler.pipeline import client_for, load_desired, plan_org
    from reconciler.plan import Plan, config_digest
    from reconciler.render import markdown, text

    org = world(n_users, grants=grants)
    seed = {
        "organizations": [
            {**org, "tokens": [{"token": TOKEN, "email": "root@bench.example"}]},
        ]
    }
    print(f"\n== {n_users} users, {len(org['stores'])} stores, {len(org['ip_ranges'])} ranges, "
          f"grants: {grants} (best of {repeat}), latency {latency_ms:g} ms; seeding the emulator …",
          flush=True)  # fmt: skip
    with EmulatorProcess(seed, timeout=300) as emu, tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.yaml"
        desired_text = desired_yaml(org, emu.base_url, grants=grants)
        path.write_text(desired_text, encoding="utf-8")
        environ = {TOKEN_ENV: TOKEN}
        # warm-up fetch (connection set-up, emulator caches), not counted
        with client_for(emu.base_url, TOKEN_ENV, environ) as warm:
            fetch_live_state(warm)
        emu.reset_request_counts()
        if latency_ms:
            emu.set_faults(latency_ms=latency_ms)

        t_load = t_fetch = t_plan = t_render = math.inf
        for attempt in range(repeat):
            t0 = time.perf_counter()
            orgs, diags = load_desired([str(path)], today=TODAY)
            t_load = min(t_load, time.perf_counter() - t0)

            client = client_for(emu.base_url, TOKEN_ENV, environ)
            t0 = time.perf_counter()
            live = fetch_live_state(client)
            t_fetch = min(t_fetch, time.perf_counter() - t0)
            client.close()
            if attempt == 0:
                client_requests = client.request_count
                server_requests = sum(emu.request_counts().values())

            t0 = time.perf_counter()
            org_plan = plan_org(orgs[0], live, api_url=emu.base_url, token_env=TOKEN_ENV)
            plan = Plan(config_digest=config_digest({str(path): path.read_text()}), orgs=[org_plan])
            t_plan = min(t_plan, time.perf_counter() - t0)

            t0 = time.perf_counter()
            out = io.StringIO()
            text.render(plan, out)
            md = io.StringIO()
            markdown.render(plan, md)
            t_render = min(t_render, time.perf_counter() - t0)

    from ruamel.yaml import YAML

    t_bare = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        YAML(typ="safe").load(desired_text)
        t_bare = min(t_bare, time.perf_counter() - t0)
    pages = sum(math.ceil(max(n, 1) / PAGE) for n in (len(live.users), len(live.stores), 50))
    own = t_load + t_plan + t_render
    print(f"changes: {len(org_plan.changes)}  findings: {len(org_plan.findings)}  "
          f"config diagnostics: {len(diags)}")  # fmt: skip
    print(f"requests: client {client_requests}, emulator {server_requests}, "
          f"expected pages + 2 = {pages} + 2 = {pages + 2}")  # fmt: skip
    print(f"fetch (HTTP + parse):           {t_fetch:7.3f} s")
    print(f"load + validate:                {t_load:7.3f} s  ({len(desired_text) / 1e6:.1f} MB; "
          f"bare C safe parse {t_bare:.3f} s, ratio {t_load / t_bare:.2f})")  # fmt: skip
    print(f"diff + safety + plan values:    {t_plan:7.3f} s")
    print(
        f"render (text + markdown):       {t_render:7.3f} s  (markdown {len(md.getvalue())} chars)"
    )
    print(f"own work:                       {own:7.3f} s")
    ratio = own / t_fetch
    verdict = "met" if ratio <= 0.5 else "missed"
    print(f"ratio own / fetch:              {ratio:7.3f}  (target <= 0.5: {verdict})")


# A bare fetch of the same live state, the floor a plan is measured against: the standard
# library only (urllib + json), sequential, limit 200, every item of every list, run as a fresh
# interpreter like `accessctl plan` is.
BARE_FETCH = """
import json, os, sys, urllib.request
base, token = sys.argv[1], os.environ[sys.argv[2]]
def get(path):
    request = urllib.request.Request(base + path, headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)
get("/me"); get("/organization")
count = 0
for path in ("/users", "/stores", "/ip-ranges"):
    cursor = None
    while True:
        body = get(path + "?limit=200" + ("&cursor=" + cursor if cursor else ""))
        count += len(body["items"])
        cursor = body.get("next_cursor")
        if not cursor:
            break
print(count)
"""


# The floor under any plan of this design, as a fresh interpreter: start Python, import the four
# runtime dependencies, read every event of the YAML with libyaml (ruamel.yaml's C parser) and
# fetch the live state with requests. Nothing is validated, compared or written.
FLOOR = """
import os, sys
import click, pydantic, requests
import ruamel.yaml
from _ruamel_yaml import CParser
base, token, path = sys.argv[1], os.environ[sys.argv[2]], sys.argv[3]
with open(path, encoding="utf-8") as file:
    parser = CParser(file.read())
while parser.check_event():
    parser.get_event()
session = requests.Session()
session.headers["Authorization"] = "Bearer " + token
def get(path):
    return session.get(base + path, timeout=60).json()
get("/me"); get("/organization")
for path in ("/users", "/stores", "/ip-ranges"):
    cursor = None
    while True:
        body = get(path + "?limit=200" + ("&cursor=" + cursor if cursor else ""))
        cursor = body.get("next_cursor")
        if not cursor:
            break
"""


def _compiled(env: dict[str, str], cache: str) -> dict[str, str]:
    """`env` with bytecode kept in `cache`: an installed package has its modules compiled, an
    editable one under PYTHONDONTWRITEBYTECODE (as on CI machines) compiles them at every start."""
    compiled = {**env, "PYTHONPYCACHEPREFIX": cache}
    compiled.pop("PYTHONDONTWRITEBYTECODE", None)
    return compiled


def _cpu_seconds(pid: int | None) -> float:
    """The user + system CPU time process `pid` has used so far (Linux /proc; 0 elsewhere), or,
    for None, that of this process's waited-for children."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _median_runs(
    commands: dict[str, list[str]],
    runs: int,
    env: dict[str, str],
    server: int | None = None,
    cpu: dict[str, tuple[float, float]] | None = None,
) -> dict[str, float]:
    """Each command `runs` times, interleaved (a, b, a, b, …) so that a change in the machine's
    load hits both alike; the median wall time of each. With `cpu`, also the median CPU time of
    each command's process and of the `server` process while it ran."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    used: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            own, served = _cpu_seconds(None), _cpu_seconds(server) if server else 0.0
            t0 = time.perf_counter()
            done = subprocess.run(command, env=env, capture_output=True, text=True)
            times[name].append(time.perf_counter() - t0)
            own, served = _cpu_seconds(None) - own, (_cpu_seconds(server) if server else 0) - served
            used[name].append((own, served))
            if done.returncode not in (0, 2):
                raise SystemExit(f"{name} failed ({done.returncode}): {done.stderr[-2000:]}")
    if cpu is not None:
        for name, pairs in used.items():
            cpu[name] = (
                statistics.median(p[0] for p in pairs),
                statistics.median(p[1] for p in pairs),
            )
    return {name: statistics.median(values) for name, values in times.items()}


def bench_whole_process(n_users: int, grants: str, runs: int) -> float:
    from reconciler.emulator.testing import EmulatorProcess

    accessctl = str(Path(sys.executable).with_name("accessctl"))
    org = world(n_users, grants=grants)
    seed = {"organizations": [{**org, "tokens": [{"token": TOKEN, "email": "root@bench.example"}]}]}
    print(f"\n== whole process: {n_users} users, grants: {grants}, median of {runs} interleaved "
          f"runs; seeding the emulator …", flush=True)  # fmt: skip
    with EmulatorProcess(seed, timeout=300) as emu, tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.yaml"
        path.write_text(desired_yaml(org, emu.base_url, grants=grants), encoding="utf-8")
        env = {**os.environ, TOKEN_ENV: TOKEN, "NO_COLOR": "1"}
        env.pop("ACCESSCTL_API_URL", None)
        env = _compiled(env, str(Path(tmp) / "bytecode"))
        commands = {
            "plan": [accessctl, "plan", str(path), "--format", "json", "--today", str(TODAY)],
            "bare": [sys.executable, "-c", BARE_FETCH, emu.base_url, TOKEN_ENV],
            "floor": [sys.executable, "-c", FLOOR, emu.base_url, TOKEN_ENV, str(path)],
        }
        for command in commands.values():  # warm-up, not counted: compiles the bytecode
            subprocess.run(command, env=env, capture_output=True)
        cpu: dict[str, tuple[float, float]] = {}
        medians = _median_runs(commands, runs, env, emu.pid, cpu)
    ratio = medians["plan"] / medians["bare"]
    verdict = "met" if ratio <= 2 else "missed"
    print(f"accessctl plan --format json:   {medians['plan']:7.3f} s")
    print(f"bare stdlib fetch (limit 200):  {medians['bare']:7.3f} s")
    print(f"ratio plan / bare fetch:        {ratio:7.2f}  (target <= 2: {verdict})")
    print(f"floor (imports + YAML events + requests fetch): {medians['floor']:.3f} s, "
          f"{medians['floor'] / medians['bare']:.2f} x the bare fetch")  # fmt: skip
    # The wall time of a run cannot be less than all the CPU it and the server use, spread over
    # every core the machine has: the bound on any parallel design of the same work.
    cores = os.cpu_count() or 1
    print(f"CPU seconds (median), the command's own + the emulator's while it ran; {cores} cores:")
    for name, (own, served) in cpu.items():
        bound = (own + served) / cores
        print(f"  {name:6s} {own:6.3f} + {served:6.3f}  -> wall >= {bound:.3f} s "
              f"({bound / medians['bare']:.2f} x the bare fetch) however it is spread")  # fmt: skip
    return ratio


def bench_startup(runs: int) -> None:
    accessctl = str(Path(sys.executable).with_name("accessctl"))
    commands = {"version": [accessctl, "--version"], "python": [sys.executable, "-c", "pass"]}
    with tempfile.TemporaryDirectory() as cache:
        env = _compiled(dict(os.environ), cache)
        for command in commands.values():  # warm-up, not counted: compiles the bytecode
            subprocess.run(command, env=env, capture_output=True)
        medians = _median_runs(commands, runs, env)
    print(f"\nstart-up: accessctl --version {medians['version']:.3f} s "
          f"(bare interpreter {medians['python']:.3f} s), median of {runs}")  # fmt: skip


def memory_child(n_users: int) -> None:
    """Runs in a fresh interpreter: load a YAML of n users, then read a synthetic live state (from
    JSON, as a fetch does), plan, render, and print the peak RSS. In that order, as `accessctl
    plan` does it: the live state is read only once the YAML has loaded without errors."""
    import json

    from reconciler.pipeline import load_desired, plan_org
    from reconciler.plan import Plan
    from reconciler.render import text

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    org = world(n_users)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.yaml"
        path.write_text(desired_yaml(org, "http://127.0.0.1:9/api/v1", changes=500))
        answers = json.dumps(org)  # what the API sends, as text
        del org
        t0 = time.perf_counter()
        orgs, _ = load_desired([str(path)], today=TODAY)
        read = json.loads(answers)
        del answers
        live = LiveState(
            me=Me(
                email="root@bench.example", role="Super Admin", organization_id="o", ip="127.0.0.1"
            ),
            organization=LiveOrganization(
                id="o", name="bench", plan="ultimate", technical_support_access=True
            ),
            stores=[LiveStore(**s) for s in read["stores"]],
            users=[
                LiveUser(id=f"u{i}", type="internal", etag=f"e{i}", **u)
                for i, u in enumerate(read["users"])
            ],
            ip_ranges=[LiveRange(id=f"r{i}", **r) for i, r in enumerate(read["ip_ranges"])],
        )
        del read
        plan = Plan(config_digest="x", orgs=[plan_org(orgs[0], live)])
        text.render(plan, io.StringIO())
        elapsed = time.perf_counter() - t0
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{peak_kib} {base} {elapsed:.3f} {len(plan.changes)}")


def bench_memory(n_users: int, extra: list[str]) -> None:
    print(f"memory: planning {n_users} users in a subprocess …", flush=True)
    out = subprocess.run(
        [sys.executable, __file__, "--memory-child", str(n_users), *extra],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    peak, base, elapsed, changes = int(out[0]), int(out[1]), float(out[2]), int(out[3])
    print(
        f"peak RSS: {peak / 1024:.0f} MiB (interpreter + imports {base / 1024:.0f} MiB), "
        f"{changes} changes, load + plan + render {elapsed:.1f} s (target < 1024 MiB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--memory-users", type=int, default=100_000)
    parser.add_argument("--memory-child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument(
        "--grants",
        choices=["few", "all", "both"],
        default="both",
        help="store grants per user: few (1-12, listed) | all (every store, `stores: all`)",
    )
    parser.add_argument(
        "--whole-process",
        action="store_true",
        help="time whole `accessctl plan` processes against a bare stdlib fetch (and start-up)",
    )
    parser.add_argument("--runs", type=int, default=5, help="interleaved runs (--whole-process)")
    parser.add_argument("--repeat", type=int, default=3, help="best of N timings")
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0,
        help="added latency per API request, as a real API has (SPEC §8 measures with none)",
    )
    parser.add_argument(
        "--default-gc",
        action="store_true",
        help="keep CPython's collector thresholds instead of setting them as `accessctl` does",
    )
    args = parser.parse_args()
    if not args.default_gc:
        tune_collector()
    if args.memory_child is not None:
        memory_child(args.memory_child)
        return
    if args.whole_process:
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
              f"on {os.cpu_count()} CPUs")  # fmt: skip
        bench_startup(args.runs)
        for grants in ("few", "all") if args.grants == "both" else (args.grants,):
            bench_whole_process(args.users, grants, args.runs)
        if not args.skip_memory:
            bench_memory(args.memory_users, [])
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        return
    how = "CPython's default" if args.default_gc else "as the accessctl command sets them"
    print(f"garbage collector thresholds: {gc.get_threshold()} ({how})")
    for grants in ("few", "all") if args.grants == "both" else (args.grants,):
        bench_emulator(args.users, grants, args.repeat, args.latency_ms)
    if not args.skip_memory:
        bench_memory(args.memory_users, ["--default-gc"] if args.default_gc else [])


if __name__ == "__main__":
    main()
