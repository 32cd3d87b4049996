"""Threads in tests: a deadlock fails the test that caused it instead of hanging the suite.

Every thread a test starts is joined with a timeout, and a thread still alive after it is an
assertion error naming the thread. Barriers made here time out too, so that one thread dying
before the barrier breaks it for the others instead of leaving them waiting for ever.

The timeouts are far above what a race takes on a loaded machine (seconds): they only bound a
hang, they measure nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence

# Seconds a test waits for a thread, a barrier or an event before calling it hung.
HANG_TIMEOUT_SECONDS = 120.0


def barrier(parties: int) -> threading.Barrier:
    """A barrier for ``parties`` threads whose ``wait()`` raises ``BrokenBarrierError`` after
    ``HANG_TIMEOUT_SECONDS`` instead of blocking for ever."""
    return threading.Barrier(parties, timeout=HANG_TIMEOUT_SECONDS)


def join_all(threads: Iterable[threading.Thread], *, timeout: float = HANG_TIMEOUT_SECONDS) -> None:
    """Waits for every thread; raises ``AssertionError`` naming the first one still running
    after ``timeout`` seconds (so a hang costs one timeout, not one per thread)."""
    for thread in threads:
        thread.join(timeout=timeout)
        assert not thread.is_alive(), f"thread {thread.name} still running after {timeout} s"


def start_all(targets: Sequence[Callable[[], object]]) -> list[threading.Thread]:
    """One started daemon thread per target (daemon: a hung one cannot keep the run alive)."""
    threads = [threading.Thread(target=target, daemon=True) for target in targets]
    for thread in threads:
        thread.start()
    return threads


def run_in_threads(
    targets: Sequence[Callable[[], object]], *, timeout: float = HANG_TIMEOUT_SECONDS
) -> None:
    """Runs each target in its own thread and waits for all of them (see ``join_all``)."""
    join_all(start_all(targets), timeout=timeout)


def wait_for(event: threading.Event, what: str, *, timeout: float = HANG_TIMEOUT_SECONDS) -> None:
    """Waits for ``event``; raises ``AssertionError`` saying ``what`` did not happen."""
    assert event.wait(timeout=timeout), f"{what} did not happen within {timeout} s"
