"""Eight clients inviting, patching and deleting at once leave a consistent database."""

from __future__ import annotations

import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from support.emulators import EmulatorPool

from reconciler.emulator.testing import EmulatorProcess

SEED: dict[str, Any] = {
    "organizations": [
        {
            "name": "busy",
            "stores": [{"id": "MID1"}, {"id": "MID2"}],
            "users": [{"email": f"admin{i}@busy.example", "role": "Admin"} for i in range(8)],
            "tokens": [{"token": f"tok-{i}", "email": f"admin{i}@busy.example"} for i in range(8)],
        }
    ]
}


def _worker(emu: EmulatorProcess, n: int) -> Counter[str]:
    api = emu.api(f"tok-{n}")
    rng = random.Random(n)
    done: Counter[str] = Counter()
    for step in range(30):
        email = f"u{rng.randrange(20)}@busy.example"  # the threads fight over 20 emails
        answer = api.post("/users", json={"email": email, "role": "User", "stores": ["MID1"]})
        if answer.status_code == 201:
            done["invited"] += 1
            user = answer.json()
            patch = api.patch(
                f"/users/{user['id']}",
                json={"stores": ["MID2"]},
                headers={"If-Match": user["etag"]},
            )
            done["updated"] += patch.status_code == 200
            if step % 2 and api.delete(f"/users/{user['id']}").status_code == 204:
                done["removed"] += 1
        else:
            assert answer.json()["code"] == "user_exists", answer.text
    return done


def test_eight_threads_at_once(emulators: EmulatorPool) -> None:
    emu = emulators.get(SEED)
    with ThreadPoolExecutor(8) as pool:
        totals = sum(pool.map(lambda n: _worker(emu, n), range(8)), Counter())
    users = emu.api("tok-0").all_items("/users")
    emails = [u["email"] for u in users]
    assert len(emails) == len(set(emails))
    events = Counter(e["action"] for e in emu.audit_events("tok-0"))
    assert events["user.invited"] == totals["invited"] == len(emu.outbox())
    assert events["user.updated"] == totals["updated"]
    assert events["user.removed"] == totals["removed"]
    assert len(users) == 8 + totals["invited"] - totals["removed"]
    assert totals["invited"] > 20 and totals["removed"] > 0
