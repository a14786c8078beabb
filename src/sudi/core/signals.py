"""In-process notices between the domains and the server's background jobs.

A domain says that something happened after its transaction committed (``notify``); whoever
subscribed is called at once, in the notifying thread, so a listener must only record the notice
(set a ``threading.Event``) and never do work of its own there. Nothing is queued or persisted: a
notice with no listener (the command line, the tests) is simply dropped, and the jobs fall back
to their periodic tick.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("sudi")

APPEAL_RECEIVED = "appeal.received"
HOTSPOT_RECOMPUTE_REQUESTED = "hotspots.recompute_requested"

_listeners: dict[str, list[Callable[[], None]]] = {}
_lock = threading.Lock()


def subscribe(topic: str, listener: Callable[[], None]) -> Callable[[], None]:
    """Call ``listener`` on every notice of ``topic``; returns the function that unsubscribes."""
    with _lock:
        _listeners.setdefault(topic, []).append(listener)

    def unsubscribe() -> None:
        with _lock:
            if listener in _listeners.get(topic, []):
                _listeners[topic].remove(listener)

    return unsubscribe


def notify(topic: str) -> None:
    with _lock:
        listeners = list(_listeners.get(topic, ()))
    for listener in listeners:
        try:
            listener()
        except Exception:  # a listener's failure must not fail the write that already committed
            log.exception("listener of %s failed", topic)
