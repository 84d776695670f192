"""Seed fixtures: the shape of issue 3, checked before the server starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator.db import Database
from reconciler.emulator.seed import SeedError, apply_seed, load_seed_file, parse_seed

WORLD = Path(__file__).parent / "fixtures" / "emulator" / "world.yaml"


def org(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"name": "o", "users": [{"email": "a@o.example", "role": "Admin"}]}
    return {"organizations": [{**base, **kw}]}


def test_the_yaml_world_loads() -> None:
    seed = load_seed_file(WORLD)
    assert [o.name for o in seed.organizations] == ["acme-eu", "beta-us", "gamma-ap"]
    assert seed.organizations[0].tokens[0].ip == "203.0.113.10"


def test_json_and_yaml_give_the_same_seed(tmp_path: Path) -> None:
    import json

    from ruamel.yaml import YAML

    data = YAML(typ="safe").load(WORLD.read_text())
    path = tmp_path / "world.json"
    path.write_text(json.dumps(data, default=str))
    assert load_seed_file(path) == load_seed_file(WORLD)


@pytest.mark.parametrize(
    ("seed", "message"),
    [
        (org(tokens=[{"token": "t", "email": "nobody@o.example"}]), "no such user"),
        (org(users=[{"email": "a@o.example", "role": "Boss"}]), "unknown role"),
        (org(users=[{"email": "a@o.example", "role": "Admin", "stores": ["X"]}]), "unknown stores"),
        (org(ip_ranges=[{"name": "r", "cidr": "10.0.0.1/8"}]), "host bits"),
        (org(users=[{"email": "a@o.example"}, {"email": "A@o.example"}]), "duplicate user"),
        (org(colour="red"), "colour"),
        # what the API refuses may not be seeded (an export of it could never plan to zero)
        (
            org(users=[{"email": "a@o.example", "role": "User", "expires_at": "2030-01-01"}]),
            "internal users do not expire",
        ),
        (
            org(users=[{"email": "a@o.example", "type": "external", "role": "Admin"}]),
            "an external user's role is External User",
        ),
        (
            org(ip_ranges=[{"name": f"r{i}", "cidr": f"10.{i}.0.0/16"} for i in range(51)]),
            "the API allows 50",
        ),
    ],
)
def test_bad_seeds_are_refused_with_a_reason(seed: dict[str, Any], message: str) -> None:
    with pytest.raises(SeedError, match=message):
        parse_seed(seed)


def test_ten_thousand_users_seed_in_one_transaction() -> None:
    stores = [{"id": f"MID{i:07d}"} for i in range(20)]
    users = [
        {"email": f"u{i}@o.example", "role": "Read Only", "stores": "all"} for i in range(10_000)
    ]
    seed = parse_seed(org(stores=stores, users=users))
    db = Database()
    try:
        with db.transaction() as conn:  # one executemany per table (timed in benchmarks/)
            apply_seed(conn, seed)
        with db.read() as conn:
            assert conn.execute("SELECT count(*) FROM user_stores").fetchone()[0] == 200_000
    finally:
        db.close()
