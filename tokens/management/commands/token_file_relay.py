"""Long-running: send the token-file jobs that takes commit (``tokens.relay``).

Run one or more beside the Celery workers (``docker-compose.yml``); stop it with SIGTERM or
Ctrl-C. Without it jobs still go out, later: the sweeper sends rows left unsent for
``TOKEN_FILE_RESEND_AFTER_SECONDS``.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand

from tokens.relay import relay_forever


class Command(BaseCommand):
    help = "Send committed token-file jobs to the broker as they are taken (LISTEN/NOTIFY)."

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        self.stdout.write("Token file relay ready.", ending="\n")
        self.stdout.flush()
        relay_forever(stop=stop)
