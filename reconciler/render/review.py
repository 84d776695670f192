"""An access review in four formats, each `render_*(reviews, stream)`: text for people,
markdown for a review issue (under GitHub's 65,536 characters, flagged users first), CSV for an
auditor's spreadsheet (stable columns, one row per user), JSON for tools. Every value comes from
the API or the YAML: text shows it through `visible`, markdown escapes it, CSV defuses formulas."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from typing import TextIO

from reconciler.display import visible
from reconciler.review import CODES, EXPLAINED, OrgReview, ReviewedUser

GITHUB_LIMIT = 65_536
BUDGET = 60_000  # room for the heading the workflow adds around the body
CSV_COLUMNS = (
    "organization",
    "email",
    "role",
    "type",
    "stores",
    "status",
    "expires",
    "declared",
    "source",
    "last_login",
    "last_login_ip",
    "findings",
)


def render_json(reviews: Sequence[OrgReview], stream: TextIO) -> None:
    json.dump({"organizations": [r.as_dict() for r in reviews]}, stream, indent=2)
    stream.write("\n")


def _defused(value: str) -> str:
    """A spreadsheet runs a cell starting with = + - @ (or a tab/CR) as a formula: quote it."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def render_csv(reviews: Sequence[OrgReview], stream: TextIO) -> None:
    writer = csv.writer(stream, lineterminator="\r\n")  # RFC 4180; quotes a CR or LF in a value
    writer.writerow(CSV_COLUMNS)
    for review in reviews:
        for user in review.users:
            row = [
                review.organization,
                user.email,
                user.role,
                user.type,
                " ".join(user.stores),
                user.status,
                user.expires.isoformat() if user.expires else "",
                "yes" if user.declared else "no",
                user.source or "",
                user.last_login or "",
                user.last_login_ip or "",
                " ".join(user.findings),
            ]
            writer.writerow([_defused(cell) for cell in row])


def _why(user: ReviewedUser, review: OrgReview) -> str:
    parts = []
    for code in user.findings:
        if code == "never_logged_in" and user.invited_days is not None:
            parts.append(f"{code} (invited {user.invited_days} days ago)")
        elif code == "expiring" and user.expires is not None:
            parts.append(f"{code} ({user.expires.isoformat()})")
        elif code == "inactive":
            parts.append(f"{code} (no login in {review.window_days} days)")
        elif code == "login_outside_ranges":
            parts.append(f"{code} ({user.last_login_ip})")
        else:
            parts.append(code)
    return ", ".join(parts)


def _summary(review: OrgReview) -> str:
    counts = review.counts()
    shown = ", ".join(f"{counts[c]} {c}" for c in CODES if counts[c])
    return f"{len(review.users)} users, {len(review.flagged)} flagged" + (
        f" ({shown})" if shown else ""
    )


def render_text(reviews: Sequence[OrgReview], stream: TextIO) -> None:
    for review in reviews:
        stream.write(
            f"Organization {visible(review.organization)}: access review of "
            f"{review.reviewed_at}, logins of the last {review.window_days} days\n"
        )
        stream.write(f"  {_summary(review)}\n")
        for note in review.notes:
            stream.write(f"  ! {visible(note)}\n")
        for user in review.flagged:
            login = (
                f"last login {visible(user.last_login)} from {visible(user.last_login_ip or '?')}"
                if user.last_login
                else "no login in the window"
            )
            stream.write(
                f"  {visible(user.email)} ({visible(user.role)}, {user.status}; {login}): "
                f"{visible(_why(user, review))}\n"
            )
        stream.write("\n")
    flagged = sum(len(r.flagged) for r in reviews)
    stream.write(
        f"Users to review: {flagged}."
        + (
            " Confirm each one still needs its access, or remove it in the YAML.\n"
            if flagged
            else "\n"
        )
    )


def _md(text: str) -> str:
    """A value in a table cell: nothing in it can close the cell, open a tag or format."""
    out = visible(text).replace("\\", "\\\\").replace("|", "\\|")
    for char in "`*_[]<>#!~":
        out = out.replace(char, "\\" + char)
    return out.replace("\n", " ")


def _md_row(user: ReviewedUser, review: OrgReview) -> str:
    cells = [
        _md(user.email),
        _md(user.role),
        user.type,
        _md(", ".join(user.stores)) if len(user.stores) <= 5 else f"{len(user.stores)} stores",
        user.status,
        user.expires.isoformat() if user.expires else "",
        _md(user.source) if user.source else "not declared",
        _md(user.last_login or "none"),
        _md(user.last_login_ip or ""),
        _md(_why(user, review)),
    ]
    return "| " + " | ".join(cells) + " |"


def render_markdown(reviews: Sequence[OrgReview], stream: TextIO, *, budget: int = BUDGET) -> None:
    """Per organization: the counts per finding, then the users, flagged first. Past `budget`
    characters the table stops at a row boundary and says how many users are left out (the CSV
    has them all)."""
    lines: list[str] = []
    size = 0

    def add(*more: str) -> None:
        nonlocal size
        lines.extend(more)
        size += sum(len(x) + 1 for x in more)

    for review in reviews:
        counts = review.counts()
        add(
            f"## Access review: {_md(review.organization)} ({review.reviewed_at})",
            "",
            f"{len(review.users)} users; logins of the last {review.window_days} days. "
            f"**{len(review.flagged)} flagged.**",
            "",
            "| finding | users | meaning |",
            "|---|---:|---|",
            *[f"| `{code}` | {counts[code]} | {EXPLAINED[code]} |" for code in CODES],
            "",
        )
        add(*[f"> {_md(note)}" for note in review.notes])
        if review.notes:
            add("")
    tables: list[tuple[OrgReview, list[ReviewedUser]]] = [
        (r, [*r.flagged, *[u for u in r.users if not u.findings]]) for r in reviews
    ]
    header = (
        "| email | role | type | stores | status | expires | declared | last login | IP "
        "| findings |"
    )
    rule = "|---|---|---|---|---|---|---|---|---|---|"
    for review, users in tables:
        add(f"### Users of {_md(review.organization)}", "", header, rule)
        shown = 0
        for user in users:
            row = _md_row(user, review)
            if size + len(row) + 1 + 200 > budget:
                break
            add(row)
            shown += 1
        left = len(users) - shown
        if left:
            add(
                "",
                f"_{left} more users are not listed here (the limit of an issue body); the "
                "CSV has every user._",
            )
        add("")
    stream.write("\n".join(lines).rstrip("\n") + "\n")
