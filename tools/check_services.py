"""Check that PostgreSQL and Redis answer before the tests run, with a clear message if not.

The concurrency tests open some 200 connections at once, so PostgreSQL's max_connections is
raised (ALTER SYSTEM and a restart, as root) when it is below what they need.
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys

import psycopg
import redis

DATABASE_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/11")
NEEDED_CONNECTIONS = 300


def fail(message: str) -> None:
    print(f"make test: {message}", file=sys.stderr)
    sys.exit(1)


def max_connections() -> int:
    with psycopg.connect(DATABASE_URL, connect_timeout=5) as conn:
        row = conn.execute("SHOW max_connections").fetchone()
        assert row is not None
        return int(row[0])


def raise_max_connections() -> None:
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute(f"ALTER SYSTEM SET max_connections = {NEEDED_CONNECTIONS * 2}")
    versions = sorted(os.path.basename(p) for p in glob.glob("/etc/postgresql/*"))
    if not versions or os.geteuid() != 0:
        fail(
            f"PostgreSQL allows fewer than {NEEDED_CONNECTIONS} connections; restart it so the "
            "new max_connections takes effect"
        )
    print(f"Restarting PostgreSQL {versions[-1]} to raise max_connections for the race tests")
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "restart"],
        check=True,
    )


def main() -> None:
    try:
        if max_connections() < NEEDED_CONNECTIONS:
            raise_max_connections()
            if max_connections() < NEEDED_CONNECTIONS:
                fail("PostgreSQL max_connections is still too low after a restart")
    except psycopg.OperationalError as exc:
        fail(f"PostgreSQL is not reachable at {DATABASE_URL}: {exc}".strip())
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        fail(f"Redis is not reachable at {REDIS_URL}: {exc}")
    print(f"PostgreSQL and Redis reachable ({DATABASE_URL.rsplit('@', 1)[-1]}, {REDIS_URL})")


if __name__ == "__main__":
    main()
