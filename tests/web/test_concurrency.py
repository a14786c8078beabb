"""Two submissions of one form at the same moment (a double click) create one appeal."""

from __future__ import annotations

import threading

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from sudi.appeals import service
from sudi.appeals.models import Appeal
from sudi.directory.service import CITIZEN
from tests.factories import World


def _submit(factory: sessionmaker[Session], key: str, barrier: threading.Barrier, results: list[object]) -> None:
    session = factory()
    try:
        draft = service.AppealDraft(title="路灯不亮", content="青檀路路灯坏了一周，晚上很黑。", channel="web",
                                    idempotency_key=key)
        barrier.wait()
        results.append(service.create_appeal(session, CITIZEN, draft).appeal.number)
    except Exception as exc:  # collected and asserted by the test
        results.append(exc)
    finally:
        session.close()


def test_simultaneous_submissions_with_one_key_create_one_appeal(
        world: World, session_factory: sessionmaker[Session]) -> None:
    for attempt in range(5):
        barrier, results = threading.Barrier(2), []
        threads = [threading.Thread(target=_submit, args=(session_factory, f"double-click-{attempt:02d}", barrier,
                                                          results)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert len(results) == 2 and all(isinstance(r, str) for r in results), results
        assert len(set(results)) == 1
    world.session.rollback()
    assert world.session.scalar(select(func.count(Appeal.id))) == 5
