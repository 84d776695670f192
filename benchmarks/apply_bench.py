"""Apply benchmark (SPEC §8): 1,000 invites against the emulator with 20 ms injected latency per
request, applied with --parallelism 1 and with --parallelism 8. Prints the speed-up (target
>= 6x) and the requests the emulator received (must equal the changes plus the plan's reads).

    .venv/bin/python benchmarks/apply_bench.py [--users 1000] [--latency-ms 20]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from reconciler.annotations import AnnotationContext
from reconciler.api import AccessApiClient
from reconciler.apply import execute
from reconciler.emulator.testing import EmulatorProcess
from reconciler.pipeline import plan_paths

TOKEN = "bench-root-token"
TOKEN_ENV = "BENCH_TOKEN"


def seed() -> dict[str, object]:
    return {
        "organizations": [
            {
                "name": "bench",
                "plan": "ultimate",
                "stores": [{"id": "MID1", "name": "Web"}],
                "ip_ranges": [{"name": "Loopback", "cidr": "127.0.0.0/8"}],
                "users": [{"email": "root@bench.example", "role": "Super Admin", "stores": "all"}],
                "tokens": [{"token": TOKEN, "email": "root@bench.example"}],
            }
        ]
    }


def config(users: int, folder: Path) -> Path:
    lines = [
        "organization: bench",
        "api:",
        "  url: http://127.0.0.1:1/api/v1",
        f"  token_env: {TOKEN_ENV}",
        "stores: {MID1: Web}",
        "ip_ranges:",
        "  - {name: Loopback, cidr: 127.0.0.0/8}",
        "users:",
        "  - {email: root@bench.example, role: Super Admin, stores: all}",
        *(f"  - {{email: user{i:05d}@bench.example, role: Read Only, stores: [MID1]}}"
          for i in range(users)),
    ]  # fmt: skip
    path = folder / "bench.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_once(
    emu: EmulatorProcess, path: Path, parallelism: int, latency_ms: float
) -> dict[str, float]:
    emu.reset()
    emu.set_faults(latency_ms=latency_ms)
    environ = {TOKEN_ENV: TOKEN, "ACCESSCTL_API_URL": emu.base_url}
    plan = plan_paths([str(path)], today=date.today(), environ=environ)
    reads = sum(emu.request_counts().values())
    (org,) = plan.orgs
    with AccessApiClient(emu.base_url, TOKEN, pool_size=max(16, parallelism)) as client:
        started = time.perf_counter()
        result = execute(
            org, client, plan_id=plan.plan_id, annotations=AnnotationContext(),
            parallelism=parallelism,
        )  # fmt: skip
        elapsed = time.perf_counter() - started
    if not result.ok:
        sys.exit(
            f"apply failed: {[r.message for r in result.results if r.status != 'applied'][:3]}"
        )
    total = sum(emu.request_counts().values())
    return {"seconds": elapsed, "changes": len(org.changes), "reads": reads, "total": total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, EmulatorProcess(seed()) as emu:
        path = config(args.users, Path(tmp))
        runs = {p: run_once(emu, path, p, args.latency_ms) for p in (1, 8)}
    for p, r in runs.items():
        print(
            f"--parallelism {p}: {int(r['changes'])} changes applied in {r['seconds']:.2f} s; "
            f"requests received: {int(r['total'])} = {int(r['changes'])} changes + "
            f"{int(r['reads'])} plan reads"
            + ("" if r["total"] == r["changes"] + r["reads"] else "  (MISMATCH)")
        )
    speedup = runs[1]["seconds"] / runs[8]["seconds"]
    verdict = "ok" if speedup >= 6 else "BELOW TARGET"
    print(f"speed-up of --parallelism 8 over 1: {speedup:.1f}x (target >= 6x: {verdict})")


if __name__ == "__main__":
    main()
