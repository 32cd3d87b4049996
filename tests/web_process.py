"""A real gunicorn process on the test database, for tests (and benchmarks) of several webs.

``run_web`` starts ``gunicorn refurb_portal.wsgi`` on a free loopback port with this checkout's
test settings, the test database (``DATABASE_URL`` of the running test), the Redis and object
store of this run, waits for ``/healthz``, and stops it afterwards; ``kill()`` SIGKILLs it and
its worker at once, as a crashed machine would.
"""

from __future__ import annotations

import os
import secrets
import socket
import string
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.test import Client

from tests.celery_worker import CeleryWorker, worker_database_url

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT_SECONDS = 90


@dataclass
class Web(CeleryWorker):
    """A gunicorn master and its worker: log, alive, kill (SIGKILL of both, requests in flight
    cut off) and stop as for a Celery worker, plus the port it serves."""

    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=5) as answer:  # noqa: S310
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def run_web(
    *, log_dir: Path, threads: int = 8, env: dict[str, str] | None = None, name: str = "web"
) -> Iterator[Web]:
    port = free_port()
    log_path = log_dir / f"gunicorn-{name}-{port}.log"
    web_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "refurb_portal.settings.test",
        "DATABASE_URL": worker_database_url(),
        "REDIS_URL": settings.CELERY_BROKER_URL,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "refurb_portal.wsgi:application",
        f"--bind=127.0.0.1:{port}",
        "--workers=1",
        f"--threads={threads}",
        "--timeout=120",
        "--graceful-timeout=5",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=web_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    web = Web(process=process, log_path=log_path, port=port)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while not _healthy(web.base_url):
            if not web.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start:\n{web.log()[-4000:]}")
            time.sleep(0.2)
        yield web
    finally:
        web.stop()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class PortalClient:
    """A logged-in browser over HTTP: the session cookie of ``user`` and a CSRF pair.
    Redirects are not followed (a take answers 302)."""

    def __init__(self, user: Any) -> None:
        django_client = Client()
        django_client.force_login(user)
        self.session = django_client.cookies["sessionid"].value
        # Django accepts an unmasked 32-character secret as cookie and header alike.
        self.csrf = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
        self.opener = urllib.request.build_opener(_NoRedirects())

    def request(
        self, base_url: str, path: str, *, data: dict[str, str] | None = None, timeout: float = 90
    ) -> tuple[int, bytes]:
        request = urllib.request.Request(  # noqa: S310 (http to our own loopback webs)
            base_url + path,
            data=urllib.parse.urlencode(data).encode() if data is not None else None,
            headers={
                "Cookie": f"sessionid={self.session}; csrftoken={self.csrf}",
                "X-CSRFToken": self.csrf,
            },
        )
        try:
            with self.opener.open(request, timeout=timeout) as answer:
                return int(answer.status), answer.read()
        except urllib.error.HTTPError as refused:
            return int(refused.code), refused.read()
