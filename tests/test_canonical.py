"""One canonical form: the model's field order, shared by `fmt` and `export`."""

from __future__ import annotations

from datetime import date

from support.plan_builders import live_state, live_user

from reconciler.config import canonical
from reconciler.config.reformat import format_text
from reconciler.export import export_yaml
from reconciler.model import OrgConfig, User


def test_key_order_is_the_models_field_order() -> None:
    assert tuple(OrgConfig.model_fields) == canonical.TOP_ORDER
    assert canonical.KEY_ORDER["users"] == tuple(User.model_fields)
    assert canonical.KEY_ORDER["users"][:3] == ("email", "role", "type")


def test_fmt_orders_a_users_keys_as_the_model_does() -> None:
    text = (
        "organization: acme\nusers:\n  - stores: [M1]\n    expires: 2030-01-01\n"
        "    type: external\n    role: External User\n    email: a@x.example\n"
    )
    assert format_text(text) == (
        "organization: acme\nusers:\n  - email: a@x.example\n    role: External User\n"
        "    type: external\n    expires: 2030-01-01\n    stores: [M1]\n"
    )


def test_export_writes_fmts_order_and_layout() -> None:
    live = live_state(
        [
            live_user("b@x.example", "Read Only", type="external", expires_at="2030-01-01"),
            live_user("A@x.example", "Admin"),
        ]
    )
    text = export_yaml(live, api_url=None, token_env=None, today=date(2026, 1, 1))
    assert "  - {email: A@x.example, role: Admin, stores: [MID1]}\n" in text
    assert (
        "  - {email: b@x.example, role: Read Only, type: external, expires: 2030-01-01, "
        "stores: [MID1]}\n" in text
    )
    assert format_text(text) == text
