"""The emulator's SQLite store: schema, one connection, one lock, transactions.

One connection guarded by a lock keeps every request's reads and writes serialised (and works for
`:memory:`); requests are short, so eight concurrent clients are not slowed by it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

SCHEMA = """
CREATE TABLE IF NOT EXISTS organizations (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    plan TEXT NOT NULL CHECK (plan IN ('standard', 'ultimate')),
    technical_support_access INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS stores (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    org_n INTEGER NOT NULL REFERENCES organizations(n),
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    UNIQUE (org_n, id)
);
CREATE TABLE IF NOT EXISTS users (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    org_n INTEGER NOT NULL REFERENCES organizations(n),
    email TEXT NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('internal', 'external')),
    role TEXT NOT NULL,
    expires_at TEXT,
    accepted INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 1,
    UNIQUE (org_n, email)
);
CREATE INDEX IF NOT EXISTS users_email ON users (email);
CREATE TABLE IF NOT EXISTS user_stores (
    user_n INTEGER NOT NULL,
    store_id TEXT NOT NULL,
    PRIMARY KEY (user_n, store_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ip_ranges (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    org_n INTEGER NOT NULL REFERENCES organizations(n),
    name TEXT NOT NULL,
    cidr TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    UNIQUE (org_n, name)
);
CREATE TABLE IF NOT EXISTS tokens (
    token TEXT PRIMARY KEY,
    org_n INTEGER NOT NULL,
    email TEXT NOT NULL,
    ip TEXT,
    used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS audit_events (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    org_n INTEGER NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    before TEXT,
    after TEXT,
    annotation TEXT,
    ip TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_events_org ON audit_events (org_n, n);
CREATE TABLE IF NOT EXISTS idempotency (
    org_n INTEGER NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT,
    etag TEXT,
    PRIMARY KEY (org_n, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    org_n INTEGER NOT NULL,
    email TEXT NOT NULL,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL,
    sent_at TEXT NOT NULL
);
"""

TABLES = (
    "outbox",
    "idempotency",
    "audit_events",
    "tokens",
    "ip_ranges",
    "user_stores",
    "users",
    "stores",
    "organizations",
)


class Database:
    """One SQLite connection shared by all threads, every use under `lock`."""

    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self.lock = threading.RLock()
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        if path != ":memory:":
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(SCHEMA)

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            yield self.conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed when the block ends, rolled back on any exception."""
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def is_empty(self) -> bool:
        with self.read() as conn:
            return conn.execute("SELECT 1 FROM organizations LIMIT 1").fetchone() is None

    def clear(self, conn: sqlite3.Connection) -> None:
        """Delete every row (inside the caller's transaction); ids restart from 1."""
        for table in TABLES:
            conn.execute(f"DELETE FROM {table}")
        conn.execute("DELETE FROM sqlite_sequence")

    def close(self) -> None:
        with self.lock:
            self.conn.close()
