"""Hotspots in the product: the full recompute, the incremental join, the board's queries, proactive
governance tasks (主动治理) and the monthly theme (每月一题).

The method is :mod:`sudi.intelligence.hotspots`; this module feeds it the appeals and keeps its
clusters in the database. Parameters are the admin setting ``hotspot_params``.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial
from itertools import repeat
from operator import itemgetter
from time import perf_counter
from typing import Any
from uuid import uuid4

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.orm import Session, undefer

from sudi.appeals.models import Appeal, AppealEvent, State
from sudi.core import clock, signals
from sudi.core.db import SerializedJSON, dump_json, local_date, transaction
from sudi.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from sudi.core.models import Setting, get_setting, put_setting, record_audit
from sudi.core.parallel import fork_map
from sudi.directory.models import Grid, Role, Unit
from sudi.directory.service import Actor
from sudi.hotspots.models import (
    GovernanceTask,
    Hotspot,
    HotspotKey,
    HotspotMember,
    HotspotModel,
    HotspotStatus,
    MonthlyTheme,
    TaskState,
)
from sudi.intelligence.hotspots import (
    HEAT_PARAMETERS,
    AppealText,
    Cluster,
    HotspotIndex,
    HotspotParams,
    Vocabulary,
    find_hotspots,
    fit_vocabulary,
    growth_of,
    heat,
    prepare,
    summarise,
    warm_up,
)

PARAMS_KEY = "hotspot_params"
SCHEDULE_KEY = "hotspot_schedule"
RECOMPUTE_KEY = "hotspot_recompute"    # the scheduled recompute's state, written by the jobs
DEFAULT_SCHEDULE = {"full_recompute_hour": 3, "rescore_every_minutes": 5}
SCHEDULE_BOUNDS = {"full_recompute_hour": (-1, 23), "rescore_every_minutes": (1, 1440)}
# Operational limits, not governance policy: a recompute of 1,000,000 appeals takes minutes, so one
# "running" for hours died without saying; a failed one is not retried on every tick.
RECOMPUTE_PRESUMED_DEAD = timedelta(hours=6)
RECOMPUTE_RETRY_AFTER = timedelta(hours=1)
VIEW_ROLES = frozenset({Role.admin, Role.dispatcher, Role.supervisor, Role.leader})
ASSIGN_ROLES = frozenset({Role.admin, Role.dispatcher, Role.supervisor, Role.leader})
THEME_ROLES = frozenset({Role.admin, Role.supervisor, Role.leader})
UNIT_ROLES = frozenset({Role.unit_handler, Role.unit_leader})
_NEW = 1 << 40   # ids the index gives clusters not yet in the database


# ----------------------------------------------------------------------------- parameters


def hotspot_params(session: Session) -> HotspotParams:
    return HotspotParams.from_mapping(get_setting(session, PARAMS_KEY, {}) or {})


def hotspot_schedule(session: Session) -> dict[str, int]:
    """When the server recomputes everything and rescores heat (the setting ``hotspot_schedule``)."""
    stored = get_setting(session, SCHEDULE_KEY, {}) or {}
    return {name: int(stored.get(name, default)) for name, default in DEFAULT_SCHEDULE.items()}


def hotspot_settings(session: Session) -> dict[str, Any]:
    """The method's parameters and the schedule, as the admin edits them together."""
    return {**hotspot_params(session).as_dict(), **hotspot_schedule(session)}


def _clean_schedule(values: dict[str, Any]) -> dict[str, int]:
    clean: dict[str, int] = {}
    for name, value in values.items():
        low, high = SCHEDULE_BOUNDS[name]
        try:
            number = int(str(value).strip())
        except ValueError:
            raise InvalidInput(f"热点参数 {name} 应为整数", f"hotspot parameter {name} must be an integer",
                               field=name) from None
        if not low <= number <= high:
            raise InvalidInput(f"热点参数 {name} 应在 {low} 到 {high} 之间",
                               f"hotspot parameter {name} must be between {low} and {high}", field=name)
        clean[name] = number
    return clean


def clustering_changes(before: HotspotParams, after: HotspotParams) -> list[str]:
    """The parameters whose change only a full recompute applies to the stored clusters: all but the heat
    weights, which the periodic rescoring applies to every hotspot. The others change what the clusters
    are (or, as cell_degrees and area_by_topic do, the form of the keys a join looks up)."""
    old = before.as_dict()
    return sorted(name for name, value in after.as_dict().items()
                  if value != old[name] and name not in HEAT_PARAMETERS)


def set_hotspot_params(session: Session, actor: Actor, values: dict[str, Any]) -> HotspotParams:
    """Admin: change the method's parameters (thresholds, window, heat weights) and the schedule.
    Parameters take effect at the next join. A change of any but the heat weights also asks for a full
    recompute, as the admin's button does: until it ran, the stored clusters were made under the old
    parameters (and after a change of key form a join would find none of them)."""
    if actor.role != Role.admin:
        raise Forbidden("只有管理员可以修改热点参数", "only an admin may change hotspot parameters")
    before = hotspot_params(session)
    current = before.as_dict()
    schedule = hotspot_schedule(session)
    unknown = sorted(set(values) - set(current) - set(schedule))
    if unknown:
        raise InvalidInput(f"未知的热点参数：{'、'.join(unknown)}",
                           f"unknown hotspot parameter(s): {', '.join(unknown)}",
                           field=unknown[0])
    params = HotspotParams.from_mapping({**current, **{k: v for k, v in values.items() if k in current}})
    new_schedule = {**schedule, **_clean_schedule({k: v for k, v in values.items() if k in schedule})}
    reclustering = clustering_changes(before, params)
    with transaction(session):
        put_setting(session, PARAMS_KEY, params.as_dict())
        put_setting(session, SCHEDULE_KEY, new_schedule)
        record_audit(session, actor_id=actor.id, actor_name=actor.name, action="hotspots.set_params",
                     object_type="setting", object_id=PARAMS_KEY, before={**current, **schedule},
                     after={**params.as_dict(), **new_schedule})
        if reclustering:
            _ask_for_recompute(session, actor, because=reclustering)
    if reclustering:
        signals.notify(signals.HOTSPOT_RECOMPUTE_REQUESTED)
    return params


# ----------------------------------------------------------------------------- the scheduled full recompute
# The server never recomputes in its own process: at 1,000,000 appeals that is minutes of CPU, which
# would starve the requests. Its job claims the recompute here and starts `sudi hotspots refresh
# --as-job` as a child process, which records the end here too. The job state is a setting row so
# that every server process (and the admin page) sees one truth, and a claim is taken under the
# row's lock so that two server processes never both start one.


def _moment(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _recompute_state(session: Session) -> dict[str, Any]:
    return dict(get_setting(session, RECOMPUTE_KEY, {}) or {})


def _running(state: dict[str, Any], now: datetime) -> bool:
    """Started, not ended since, and not so long ago that it must have died without saying."""
    started, ended = _moment(state.get("started_at")), _moment(state.get("ended_at"))
    return started is not None and (ended is None or ended < started) and now - started < RECOMPUTE_PRESUMED_DEAD


def _asked(state: dict[str, Any]) -> bool:
    """An admin asked for a recompute that has not started since."""
    requested, started = _moment(state.get("requested_at")), _moment(state.get("started_at"))
    return requested is not None and (started is None or requested > started)


def recompute_status(session: Session, *, now: datetime | None = None) -> dict[str, Any]:
    """The last and the running full recompute as the admin page and the API show them."""
    state = _recompute_state(session)
    model = session.get(HotspotModel, 1)
    running = _running(state, now or clock.now())
    return {"computed_at": model.computed_at if model else None, "running": running,
            "waiting": _asked(state) and not running, "started_at": _moment(state.get("started_at")),
            "ended_at": _moment(state.get("ended_at")), "ok": state.get("ok"), "detail": state.get("detail", ""),
            "reason": state.get("reason"), "requested_at": _moment(state.get("requested_at")),
            "requested_by": state.get("requested_by", ""), "schedule": hotspot_schedule(session)}


def _recompute_reason(session: Session, state: dict[str, Any], now: datetime) -> str | None:
    if _running(state, now):
        return None
    if _asked(state):
        return "requested"
    ended = _moment(state.get("ended_at"))
    if ended is not None and state.get("ok") is False and now - ended < RECOMPUTE_RETRY_AFTER:
        return None   # a failed run is retried later, not on every tick
    model = session.get(HotspotModel, 1)
    if model is None:
        return "first"
    hour = hotspot_schedule(session)["full_recompute_hour"]
    if hour >= 0 and clock.local(now).hour == hour and model.computed_at <= now - timedelta(hours=20):
        return "nightly"
    return None


def request_full_recompute(session: Session, actor: Actor) -> dict[str, Any]:
    """Admin: recompute everything now; the server's job starts it at once (or at its next tick)."""
    if actor.role != Role.admin:
        raise Forbidden("只有管理员可以全量重算热点", "only an admin may recompute hotspots")
    now = clock.now()
    with transaction(session):
        _ask_for_recompute(session, actor)
    signals.notify(signals.HOTSPOT_RECOMPUTE_REQUESTED)
    return recompute_status(session, now=now)


def _ask_for_recompute(session: Session, actor: Actor, *, because: Sequence[str] = ()) -> None:
    """Record a request for the server's job (inside the caller's transaction); ``because``: the
    changed parameters that made it, when it was not asked for directly."""
    state = _recompute_state(session)
    state.update(requested_at=clock.now().isoformat(), requested_by=actor.name)
    put_setting(session, RECOMPUTE_KEY, state)
    record_audit(session, actor_id=actor.id, actor_name=actor.name, action="hotspots.request_refresh",
                 object_type="hotspots", object_id="all", **({"parameters": list(because)} if because else {}))


def claim_full_recompute(session: Session, *, now: datetime | None = None) -> str | None:
    """The server's job: is a full recompute due (the first, one asked for, the nightly one)? If so,
    mark it started and return why; ``None`` when nothing is due or another process runs one."""
    now = now or clock.now()
    if _recompute_reason(session, _recompute_state(session), now) is None:
        return None   # the common answer, without taking the write lock every tick
    with transaction(session):
        row = session.scalars(select(Setting).where(Setting.key == RECOMPUTE_KEY).with_for_update()).first()
        state = dict(row.value) if row is not None else {}
        reason = _recompute_reason(session, state, now)
        if reason is None:
            return None
        state.update(started_at=now.isoformat(), reason=reason)
        put_setting(session, RECOMPUTE_KEY, state)
        record_audit(session, actor_id=None, actor_name="系统", action="hotspots.refresh_started",
                     object_type="hotspots", object_id="all", reason=reason)
    return reason


def finish_full_recompute(session: Session, *, ok: bool, detail: str = "") -> None:
    """Record the end of the claimed recompute (by the child that ran it, or by the server when the
    child died without saying)."""
    now = clock.now()
    with transaction(session):
        state = _recompute_state(session)
        state.update(ended_at=now.isoformat(), ok=ok, detail=detail[:500])
        put_setting(session, RECOMPUTE_KEY, state)
        record_audit(session, actor_id=None, actor_name="系统",
                     action="hotspots.refresh_finished" if ok else "hotspots.refresh_failed",
                     object_type="hotspots", object_id="all", detail=detail[:200])


# ----------------------------------------------------------------------------- appeals as texts

_COLUMNS = (Appeal.id, Appeal.title, Appeal.content, Appeal.received_at, Appeal.citizen_key, Appeal.citizen_phone,
            Appeal.grid_id, Appeal.lat, Appeal.lon)


def _as_text(row: Any, supports: dict[int, int], grids: dict[int, str]) -> AppealText:
    grid = grids.get(row.grid_id) if row.grid_id is not None else None
    return AppealText(str(row.id), row.title or "", row.content or "", row.received_at,
                      row.citizen_key or row.citizen_phone or "", supports.get(row.id, 0), 0, grid, row.lat, row.lon)


def _grid_names(session: Session) -> dict[int, str]:
    """Grid id → name: the grid is a place, shown by name when an appeal names no other."""
    return {gid: name for gid, name in session.execute(select(Grid.id, Grid.name))}


def _supports(session: Session, ids: Sequence[int] | None = None) -> dict[int, int]:
    query = (select(AppealEvent.appeal_id, func.count(AppealEvent.id)).where(AppealEvent.action == "support")
             .group_by(AppealEvent.appeal_id))
    if ids is not None:
        if not ids:
            return {}
        query = query.where(AppealEvent.appeal_id.in_(list(ids)))
    return {appeal_id: int(n) for appeal_id, n in session.execute(query)}


def _counted() -> Any:
    return Appeal.state != State.rejected.value   # a rejected appeal is no evidence of a problem


# ----------------------------------------------------------------------------- storing clusters


def _row_values(cluster: Cluster, vocabulary: Vocabulary, params: HotspotParams, now: datetime) -> dict[str, Any]:
    summary = summarise(cluster, vocabulary, params, now)
    return {"status": (HotspotStatus.active if cluster.size >= params.min_size else HotspotStatus.candidate).value,
            "title": summary.title[:200], "keywords": summary.keywords, "place": summary.place[:128],
            "place_kind": summary.place_kind[:16], "size": cluster.size, "citizens": summary.citizens,
            "supports": cluster.supports, "objections": cluster.objections, "first_time": cluster.first_time,
            "last_time": cluster.last_time, "growth": summary.growth, "heat": summary.heat,
            "state": cluster.to_state(), "updated_at": now}


def _quick_values(cluster: Cluster, params: HotspotParams, now: datetime) -> dict[str, Any]:
    """A candidate (below the hotspot size) needs no title: the board never shows it."""
    return {"status": HotspotStatus.candidate.value, "title": (cluster.titles[0] if cluster.titles else "")[:200],
            "keywords": [], "place": "", "place_kind": "", "size": cluster.size,
            "citizens": len(cluster.citizens) + cluster.anonymous, "supports": cluster.supports,
            "objections": cluster.objections, "first_time": cluster.first_time, "last_time": cluster.last_time,
            "growth": 0.0, "heat": 0.0, "state": cluster.to_state(), "updated_at": now}


def _values(cluster: Cluster, vocabulary: Vocabulary, params: HotspotParams, now: datetime) -> dict[str, Any]:
    """A cluster's row: summarised when it is a hotspot, quickly when a candidate."""
    return (_row_values(cluster, vocabulary, params, now) if cluster.size >= params.min_size
            else _quick_values(cluster, params, now))


def _keys_of(cluster: Cluster) -> list[str]:
    """The cluster's keys as stored: cut to the column's length (so two may become one), sorted."""
    return sorted({k[:96] for k in cluster.keys})


def _stored_form(cluster: Cluster, *, vocabulary: Vocabulary, params: HotspotParams, now: datetime) -> dict[str, Any]:
    """A recomputed cluster's row, its state serialized: made in a worker process of the recompute."""
    values = _values(cluster, vocabulary, params, now)
    values["state"] = SerializedJSON(dump_json(values["state"]))
    return values


def _insert_rows(connection: Any, clusters: Sequence[Cluster], forms: Iterator[dict[str, Any]]) -> None:
    """The clusters' rows under their ids (given after the workers that made the rows were started)."""
    rows: list[dict[str, Any]] = []
    for cluster, values in zip(clusters, forms, strict=True):
        rows.append({**values, "id": cluster.id})
        if len(rows) == 2000:
            connection.execute(insert(Hotspot), rows)
            rows = []
    if rows:
        connection.execute(insert(Hotspot), rows)


def _insert_members_and_keys(connection: Any, clusters: Sequence[Cluster], open_since: datetime) -> None:
    """Every cluster's members, and the keys of those still open (a later appeal can join only those)."""
    members: list[tuple[int, int, datetime]] = []
    keys: list[tuple[str, int]] = []
    for cluster in clusters:
        members.extend(zip(map(int, cluster.member_ids), repeat(cluster.id), cluster.times, strict=False))
        if cluster.last_time is not None and cluster.last_time >= open_since:
            keys.extend(zip(_keys_of(cluster), repeat(cluster.id)))
    # In primary-key order, so each index grows at its end instead of at random pages.
    members.sort(key=itemgetter(0))
    keys.sort()
    if connection.dialect.name == "postgresql":
        # COPY: millions of rows without a statement per thousand of them.
        _copy_rows(connection, "hotspot_members (appeal_id, hotspot_id, at)", members)
        _copy_rows(connection, "hotspot_keys (key, hotspot_id)", keys)
        return
    for start in range(0, len(members), 20000):
        connection.execute(insert(HotspotMember), [
            {"appeal_id": a, "hotspot_id": h, "at": t} for a, h, t in members[start:start + 20000]])
    for start in range(0, len(keys), 20000):
        connection.execute(insert(HotspotKey), [{"key": k, "hotspot_id": h} for k, h in keys[start:start + 20000]])


def _copy_rows(connection: Any, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """``rows`` into ``table`` ("name (columns)") by PostgreSQL's COPY, in the connection's transaction."""
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


_REPLACED_TABLES = "hotspots, hotspot_members, hotspot_keys"


def _vacuum_replaced(session: Session) -> None:
    """On PostgreSQL the replaced rows stay as dead rows until a VACUUM: one runs now instead of relying
    on autovacuum, which a server may have turned off (each recompute would leave another full copy,
    and the next one deletes and scans through all of them)."""
    with session.get_bind().engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f"VACUUM {_REPLACED_TABLES}"))


_SEQUENCE = "pg_get_serial_sequence('hotspots', 'id')"


def _last_given_id(session: Session) -> int:
    """The highest hotspot id the rows and the record show, whether or not its row still exists (on
    PostgreSQL a join's id is in the sequence instead: :func:`_first_new_id` reads it too)."""
    stored = session.scalar(select(func.max(Hotspot.id))) or 0
    return max(stored, session.scalar(select(HotspotModel.last_hotspot_id).where(HotspotModel.id == 1)) or 0)


def _first_new_id(session: Session, postgres: bool) -> int:
    """The first id after every one given so far: after the highest stored, the highest recorded (a
    hotspot a join created and a merge deleted) and, on PostgreSQL, the sequence's last value."""
    highest = _last_given_id(session)
    if postgres:
        given = session.scalar(text(f"SELECT pg_sequence_last_value({_SEQUENCE}::regclass)"))
        highest = max(highest, int(given or 0))
    return highest + 1


def _continue_ids_after(session: Session, last_id: int) -> None:
    """After rows were inserted under ids the recompute gave, PostgreSQL's sequence moves past them."""
    session.execute(text(f"SELECT setval({_SEQUENCE}, :last)"), {"last": last_id})


def refresh_hotspots(session: Session, *, progress: Callable[[int, int], None] | None = None,
                     actor: Actor | None = None, workers: int = 1) -> dict[str, Any]:
    """The full recompute: every appeal through the method again; the stored hotspots are replaced.

    ``workers`` > 1 prepares appeals in forked processes: for the command line, not inside the
    threaded server.

    Governance tasks and monthly themes keep their snapshot (their link to a replaced hotspot is
    cleared by the database). Returns counts for the caller to report."""
    params = hotspot_params(session)
    now = clock.now()
    began = perf_counter()
    supports = _supports(session)
    appeals: list[AppealText] = []
    watermark = 0
    total = session.scalar(select(func.count(Appeal.id)).where(_counted())) or 0
    grids = _grid_names(session)
    for row in session.execute(select(*_COLUMNS).where(_counted()).order_by(Appeal.id)
                               .execution_options(yield_per=5000)):
        appeals.append(_as_text(row, supports, grids))
        watermark = max(watermark, row.id)
        if progress and len(appeals) % 20000 == 0:
            progress(len(appeals) // 4, total)
    read_at = perf_counter()
    vocabulary = fit_vocabulary(appeals, params)

    def step(done: int) -> None:
        if progress:
            progress(total // 4 + done * 3 // 4, total)

    _, index = find_hotspots(appeals, params, reference=now, vocabulary=vocabulary, progress=step, top=0,
                             workers=workers)
    clustered_at = perf_counter()
    window = timedelta(days=params.window_days)
    # Kept: every hotspot, and candidates that can still grow.
    keep = [c for c in index.all_clusters()
            if c.size >= params.min_size or (c.last_time is not None and c.last_time >= now - window)]
    stored_form = partial(_stored_form, vocabulary=vocabulary, params=params, now=now)
    # The titles and keywords (jieba) and the states are made in forked processes while this one
    # replaces the stored rows: they were two thirds of the CPU of writing 1,000,000 appeals' result.
    with fork_map(stored_form, keep, workers=workers) as forms, transaction(session):
        sqlite = session.get_bind().dialect.name == "sqlite"
        if not sqlite:
            # A join running meanwhile (a recompute from the command line is not claimed, so the
            # server keeps joining) waits for the commit: its new hotspot's id comes from the
            # sequence this moves. SQLite's write transaction excludes other writers already.
            session.execute(text(f"LOCK TABLE {_REPLACED_TABLES} IN SHARE ROW EXCLUSIVE MODE"))
        # Ids continue after those given before, so a link to a replaced hotspot finds nothing rather
        # than another hotspot; they are given here, so no row waits for a flush to get one.
        first_id = _first_new_id(session, postgres=not sqlite)
        for number, cluster in enumerate(keep):
            cluster.id = first_id + number
        if sqlite:
            # Millions of index entries deleted and written: with SQLite's default 2 MB page cache each
            # went to disk for its B-tree pages (344 s of writing a 1,000,000-appeal recompute).
            session.execute(text("PRAGMA cache_size = -262144"))
        session.execute(delete(HotspotKey))
        session.execute(delete(HotspotMember))
        session.execute(delete(Hotspot))
        session.execute(delete(HotspotModel))
        connection = session.connection()
        if sqlite:
            # The members and keys go in while the workers still make the rows they refer to: SQLite
            # checks the references at the commit (PostgreSQL's are not deferrable: rows first there).
            session.execute(text("PRAGMA defer_foreign_keys = ON"))
            _insert_members_and_keys(connection, keep, now - window)
            _insert_rows(connection, keep, forms)
        else:
            _insert_rows(connection, keep, forms)
            _insert_members_and_keys(connection, keep, now - window)
            if keep:
                _continue_ids_after(session, first_id + len(keep) - 1)
            # Every row replaced: PostgreSQL's planner must not wait for autovacuum to learn it. With
            # the old statistics a join's candidate query walked the hotspots by time (230 ms median
            # at 1,000,000 appeals) instead of looking its keys up (6 ms).
            session.execute(text(f"ANALYZE {_REPLACED_TABLES}"))
        session.add(HotspotModel(id=1, vocabulary=vocabulary.as_dict(), watermark=watermark, computed_at=now,
                                 version=uuid4().hex, last_hotspot_id=first_id + len(keep) - 1))
        who = actor or None
        record_audit(session, actor_id=who.id if who else None, actor_name=who.name if who else "系统",
                     action="hotspots.refresh", object_type="hotspots", object_id="all", appeals=len(appeals),
                     hotspots=sum(1 for c in keep if c.size >= params.min_size))
    if not sqlite:
        _vacuum_replaced(session)
    if progress:
        progress(total, total)
    written_at = perf_counter()
    return {"appeals": len(appeals), "hotspots": sum(1 for c in keep if c.size >= params.min_size),
            "candidates": sum(1 for c in keep if c.size < params.min_size), "watermark": watermark,
            "read_s": round(read_at - began, 1), "cluster_s": round(clustered_at - read_at, 1),
            "write_s": round(written_at - clustered_at, 1)}


def _load_cluster(session: Session, row: Hotspot) -> Cluster:
    members = session.execute(select(HotspotMember.appeal_id, HotspotMember.at)
                              .where(HotspotMember.hotspot_id == row.id).order_by(HotspotMember.at)).all()
    return Cluster.from_state(row.id, row.state or {}, member_ids=[str(m.appeal_id) for m in members],
                              times=[m.at for m in members], supports=row.supports, objections=row.objections,
                              first_time=row.first_time, last_time=row.last_time)


# What matching an appeal reads of a candidate: its centroid, keys and span, taken out of the stored state
# by the database. The rest (members, citizens, places, points …) is most of a big cluster's weight and
# matters only to the few candidates the appeal fits: ``_fill`` reads it for those.
_MATCHED = (Hotspot.id, Hotspot.supports, Hotspot.objections, Hotspot.first_time, Hotspot.last_time,
            Hotspot.state["centroid"].label("centroid"), Hotspot.state["keys"].label("keys"))
_FILLED = ("member_ids", "times", "titles", "citizens", "anonymous", "supports", "objections", "places",
           "place_names", "areas", "grids", "points", "keys", "key_kinds")


def _kinds(keys: list[str]) -> set[str]:
    """``{key[:2] for key in keys}``. Stored keys are sorted, so each kind is one run, skipped by bisection:
    a big cluster has thousands of keys of four kinds."""
    if keys != sorted(keys):
        return {key[:2] for key in keys}
    kinds: set[str] = set()
    at = 0
    while at < len(keys):
        kind = keys[at][:2]
        kinds.add(kind)
        at = bisect_left(keys, kind[0] + chr(ord(kind[1]) + 1), at + 1) if len(kind) == 2 and \
            kind[1] < "\U0010ffff" else at + 1
    return kinds


def _candidate(row: Any, lookup: set[str]) -> Cluster:
    """A candidate as matching reads it: its centroid and span, its kinds of key, and of its keys only those
    the appeal looks up (the index lists it under those)."""
    keys: list[str] = row.keys or []
    cluster = Cluster.from_state(row.id, {"centroid": row.centroid}, member_ids=(), times=(), supports=row.supports,
                                 objections=row.objections, first_time=row.first_time, last_time=row.last_time)
    cluster.keys, cluster.key_kinds = lookup.intersection(keys), _kinds(keys)
    return cluster


def _fill(session: Session, candidate: Cluster, row: Hotspot) -> None:
    """Complete a candidate read by ``_candidate`` from its row and members. Its centroid stays the object
    matching has used, so that the index's second look finds the same fits."""
    whole = _load_cluster(session, row)
    for name in _FILLED:
        setattr(candidate, name, getattr(whole, name))


_parsed_vocabulary: tuple[str, Vocabulary] | None = None   # (the model's version, its vocabulary parsed)


def _stored_vocabulary(session: Session) -> Vocabulary:
    """The model's vocabulary, parsed once per full recompute rather than at every join: megabytes of
    JSON whose parsing was most of a one-appeal join. Kept by the model's version, which every full
    recompute renews (so a recompute at the same frozen moment is never taken for the last)."""
    global _parsed_vocabulary
    version = session.scalar(select(HotspotModel.version).where(HotspotModel.id == 1))
    if version is None:   # no full recompute yet: nothing to keep
        return Vocabulary.from_dict({})
    cached = _parsed_vocabulary
    if cached is not None and cached[0] == version:
        return cached[1]
    data = session.scalar(select(HotspotModel.vocabulary).where(HotspotModel.id == 1))
    vocabulary = Vocabulary.from_dict(data or {})
    _parsed_vocabulary = (version, vocabulary)
    return vocabulary


def prepare_joins(session: Session) -> None:
    """Load what a join needs once per process (the segmenter's dictionaries, the stored vocabulary),
    so that the first appeal after a server start joins as fast as the others."""
    warm_up()
    _stored_vocabulary(session)


def join_new_appeals(session: Session, *, limit: int = 2000, first_recompute: bool = True) -> int:
    """The incremental step: appeals that arrived since the last run join (or start) clusters.

    Only the candidate clusters of each appeal are read (by its place, grid, cell and topic keys),
    so one appeal takes milliseconds whatever the size of the history. Without a model (no full
    recompute yet) this makes one first, unless ``first_recompute`` is off (the server, whose job
    starts that recompute in a child process). Returns how many appeals were taken in."""
    model = session.get(HotspotModel, 1)
    if model is None:
        return refresh_hotspots(session)["appeals"] if first_recompute else 0
    params = hotspot_params(session)
    rows = session.execute(select(*_COLUMNS).where(Appeal.id > model.watermark, _counted())
                           .order_by(Appeal.id).limit(limit)).all()
    if not rows:
        return 0
    vocabulary = _stored_vocabulary(session)
    supports = _supports(session, [r.id for r in rows])
    now = clock.now()
    grids = _grid_names(session)
    with transaction(session):
        for row in rows:
            _join_one(session, _as_text(row, supports, grids), vocabulary, params, now)
        session.execute(update(HotspotModel).where(HotspotModel.id == 1)
                        .values(watermark=max(r.id for r in rows), joined_at=now))
    return len(rows)


def _join_one(session: Session, appeal: AppealText, vocabulary: Vocabulary, params: HotspotParams,
              now: datetime) -> int:
    if session.get(HotspotMember, int(appeal.id)) is not None:
        return -1
    item = prepare(appeal, vocabulary, params)
    window = timedelta(days=params.window_days)
    lookup = [*item.place_keys, *item.topic_keys, *item.near_cells]
    ids = session.scalars(
        select(HotspotKey.hotspot_id).join(Hotspot, Hotspot.id == HotspotKey.hotspot_id)
        .where(HotspotKey.key.in_([k[:96] for k in lookup]), Hotspot.last_time >= appeal.time - window,
               Hotspot.first_time <= appeal.time + window)
        .order_by(Hotspot.last_time.desc()).limit(4 * params.max_candidates)).all()
    index = HotspotIndex(vocabulary, params)
    # Candidates in id order (the order they took their keys), each indexed under the keys this appeal
    # looks up only; read whole only when the appeal fits them (it joins one, and may merge the others).
    looked_up = set(lookup)
    for found in session.execute(select(*_MATCHED).where(Hotspot.id.in_(set(ids))).order_by(Hotspot.id)):
        index.load(_candidate(found, looked_up))
    fits = {c.id: c for c, _score in index.fitting(item)}
    loaded: dict[int, Hotspot] = {}
    if fits:
        for row in session.scalars(select(Hotspot).options(undefer(Hotspot.state))
                                   .where(Hotspot.id.in_(list(fits))).order_by(Hotspot.id)):
            loaded[row.id] = row
            _fill(session, fits[row.id], row)
    index.next_id = _NEW
    cluster, _joined = index.add_prepared(item)
    if not {cluster.id, *index.merged} <= {*loaded, *range(_NEW, index.next_id)}:
        raise RuntimeError(f"hotspot join: cluster {cluster.id} changed without being read whole")
    values = _values(cluster, vocabulary, params, now)
    if cluster.id >= _NEW:
        row = Hotspot(**values)
        if session.get_bind().dialect.name == "sqlite":
            # SQLite's own choice would be the highest stored id + 1: a merged-away hotspot's id again.
            # PostgreSQL's sequence never goes back.
            row.id = _last_given_id(session) + 1
            session.execute(update(HotspotModel).where(HotspotModel.id == 1).values(last_hotspot_id=row.id))
        session.add(row)
        session.flush()
        cluster.id = row.id
    else:
        row = loaded[cluster.id]
        for name, value in values.items():
            setattr(row, name, value)
    for gone, into in index.merged.items():
        target = cluster.id if into >= _NEW or into == cluster.id else into
        session.execute(update(HotspotMember).where(HotspotMember.hotspot_id == gone).values(hotspot_id=target))
        session.execute(update(GovernanceTask).where(GovernanceTask.hotspot_id == gone).values(hotspot_id=target))
        session.execute(update(MonthlyTheme).where(MonthlyTheme.hotspot_id == gone).values(hotspot_id=target))
        session.execute(delete(HotspotKey).where(HotspotKey.hotspot_id == gone))
        session.execute(delete(Hotspot).where(Hotspot.id == gone))
    session.add(HotspotMember(appeal_id=int(appeal.id), hotspot_id=cluster.id, at=appeal.time))
    have = set(session.scalars(select(HotspotKey.key).where(HotspotKey.hotspot_id == cluster.id)))
    for key in _keys_of(cluster):
        if key not in have:
            session.add(HotspotKey(key=key, hotspot_id=cluster.id))
    session.flush()
    return cluster.id


def rescore_hotspots(session: Session) -> int:
    """Heat fades and growth changes with time: recompute both (and supports) for the live hotspots.

    Members and supports are selected by the live hotspots' own condition, never by a list of ids: at
    1,000,000 appeals the live hotspots hold hundreds of thousands of members, more parameters than a
    statement may carry. Growth compares the last two ``growth_days`` periods, so older member times
    are not read."""
    params = hotspot_params(session)
    now = clock.now()
    horizon = now - timedelta(days=4 * params.half_life_days)
    live = (Hotspot.status == HotspotStatus.active.value) & (Hotspot.last_time >= horizon)
    rows = session.scalars(select(Hotspot).where(live)).all()
    if not rows:
        return 0
    members_of_live = select(HotspotMember).join(Hotspot, Hotspot.id == HotspotMember.hotspot_id).where(live)
    times: dict[int, list[datetime]] = defaultdict(list)
    recent = now - 2 * timedelta(days=params.growth_days)
    for hotspot_id, at in session.execute(members_of_live.with_only_columns(HotspotMember.hotspot_id, HotspotMember.at)
                                          .where(HotspotMember.at > recent)):
        times[hotspot_id].append(at)
    supports = {hotspot_id: int(n) for hotspot_id, n in session.execute(
        members_of_live.with_only_columns(HotspotMember.hotspot_id, func.count(AppealEvent.id))
        .join(AppealEvent, AppealEvent.appeal_id == HotspotMember.appeal_id)
        .where(AppealEvent.action == "support").group_by(HotspotMember.hotspot_id))}
    with transaction(session):
        for row in rows:
            row.supports = supports.get(row.id, 0)
            row.growth = round(growth_of(times[row.id], now, params.growth_days), 3)
            row.heat = round(heat(appeals=row.size, citizens=row.citizens, supports=row.supports,
                                  objections=row.objections, growth=row.growth,
                                  age_days=(now - row.last_time).total_seconds() / 86400.0, params=params), 4)
    return len(rows)


# ----------------------------------------------------------------------------- the board


def _require(actor: Actor, roles: frozenset[str], zh: str, en: str) -> None:
    if actor.role not in roles:
        raise Forbidden(zh, en)


def list_hotspots(session: Session, actor: Actor, *, top: int = 30, q: str | None = None) -> Sequence[Hotspot]:
    _require(actor, VIEW_ROLES, "您的角色无权查看热点", "your role may not view hotspots")
    query = select(Hotspot).where(Hotspot.status == HotspotStatus.active.value)
    if q:
        like = f"%{q.strip()[:50]}%"
        query = query.where(Hotspot.title.like(like) | Hotspot.place.like(like))
    return session.scalars(query.order_by(Hotspot.heat.desc(), Hotspot.size.desc(), Hotspot.id)
                           .limit(max(1, min(top, 200)))).all()


def access_hotspot(session: Session, actor: Actor, hotspot_id: int) -> Hotspot:
    _require(actor, VIEW_ROLES, "您的角色无权查看热点", "your role may not view hotspots")
    row = session.get(Hotspot, hotspot_id)
    if row is None:
        raise NotFound("热点不存在（可能已在重算后合并或更新）", f"hotspot {hotspot_id} not found (it may have been "
                       "recomputed)")
    return row


@dataclass(frozen=True, slots=True)
class MemberAppeal:
    id: int
    number: str
    title: str
    received_at: datetime
    state: str
    lat: float | None
    lon: float | None


def hotspot_members(session: Session, hotspot: Hotspot, *, limit: int = 500) -> list[MemberAppeal]:
    rows = session.execute(select(Appeal.id, Appeal.number, Appeal.title, Appeal.received_at, Appeal.state,
                                  Appeal.lat, Appeal.lon)
                           .join(HotspotMember, HotspotMember.appeal_id == Appeal.id)
                           .where(HotspotMember.hotspot_id == hotspot.id)
                           .order_by(Appeal.received_at).limit(limit)).all()
    return [MemberAppeal(*r) for r in rows]


def timeline(session: Session, hotspot_ids: Sequence[int]) -> dict[int, list[tuple[str, int]]]:
    """Appeals per day (district time) of each hotspot, for the board's chart: counted by the database,
    not read member by member (the largest hotspots have thousands)."""
    out: dict[int, list[tuple[str, int]]] = defaultdict(list)
    if hotspot_ids:
        day = local_date(session, HotspotMember.at)
        for hotspot_id, on, n in session.execute(
                select(HotspotMember.hotspot_id, day, func.count())
                .where(HotspotMember.hotspot_id.in_(list(hotspot_ids))).group_by(HotspotMember.hotspot_id, day)):
            out[hotspot_id].append((on if isinstance(on, str) else on.isoformat(), int(n)))
    return {h: sorted(days) for h, days in out.items()}


def map_points(session: Session, hotspot_ids: Sequence[int], *, per_hotspot: int = 300) -> list[dict[str, Any]]:
    """Member points (the appeal's own point, else its grid's centre) for the board's map: of each
    hotspot the first ``per_hotspot`` members (by registration) that have one, one query each, which
    stops there instead of reading every member of the largest hotspots."""
    points: list[dict[str, Any]] = []
    for hotspot_id in sorted(set(hotspot_ids)):
        rows = session.execute(select(Appeal.number, Appeal.lat, Appeal.lon, Grid.centre_lat, Grid.centre_lon)
                               .select_from(HotspotMember)
                               .join(Appeal, Appeal.id == HotspotMember.appeal_id)
                               .outerjoin(Grid, Grid.id == Appeal.grid_id)
                               .where(HotspotMember.hotspot_id == hotspot_id,
                                      Appeal.lat.is_not(None) | Grid.centre_lat.is_not(None))
                               .order_by(HotspotMember.appeal_id).limit(per_hotspot))
        points.extend({"hotspot": hotspot_id, "number": number, "lat": lat if lat is not None else glat,
                       "lon": lon if lon is not None else glon} for number, lat, lon, glat, glon in rows)
    return points


def model_status(session: Session) -> HotspotModel | None:
    return session.get(HotspotModel, 1)


# ----------------------------------------------------------------------------- 主动治理 tasks


def _snapshot(session: Session, hotspot: Hotspot) -> dict[str, Any]:
    ids = session.scalars(select(HotspotMember.appeal_id).where(HotspotMember.hotspot_id == hotspot.id)
                          .limit(1000)).all()
    return {"hotspot_id": hotspot.id, "title": hotspot.title, "place": hotspot.place, "keywords": hotspot.keywords,
            "size": hotspot.size, "citizens": hotspot.citizens, "heat": hotspot.heat,
            "first_time": hotspot.first_time.isoformat(), "last_time": hotspot.last_time.isoformat(),
            "appeal_ids": list(ids)}


def _deadline(value: date | datetime | str | None) -> datetime:
    if value is None or value == "":
        raise InvalidInput("请填写完成期限", "deadline is required", field="deadline")
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip()) if "T" in value or " " in value.strip() \
                else date.fromisoformat(value.strip())
        except ValueError:
            raise InvalidInput("完成期限应为 YYYY-MM-DD", "deadline must be an ISO date", field="deadline") from None
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=clock.DISTRICT_TZ)
    else:
        # A date means the end of that working day in the district.
        moment = datetime.combine(value, time(18, 0), tzinfo=clock.DISTRICT_TZ)
    if moment <= clock.now():
        raise InvalidInput("完成期限应晚于现在", "deadline must be in the future", field="deadline")
    if moment > clock.now() + timedelta(days=366):
        raise InvalidInput("完成期限不能超过一年", "deadline must be within a year", field="deadline")
    return moment


def _unit(session: Session, code_or_id: str | int) -> Unit:
    unit = None
    if isinstance(code_or_id, int) or (isinstance(code_or_id, str) and code_or_id.isdigit()):
        unit = session.get(Unit, int(code_or_id))
    if unit is None and isinstance(code_or_id, str):
        unit = session.scalar(select(Unit).where(Unit.code == code_or_id.strip()))
    if unit is None or not unit.is_active:
        raise InvalidInput("承办单位不存在或已停用", f"unit {code_or_id!r} not found or inactive", field="unit")
    return unit


def create_governance_task(session: Session, actor: Actor, hotspot_id: int, *, unit: str | int,
                           deadline: date | datetime | str | None, instructions: str = "",
                           title: str | None = None) -> GovernanceTask:
    """主动治理: hand a hotspot to a unit to fix at its source, with a deadline; supervised and audited."""
    _require(actor, ASSIGN_ROLES, "您的角色无权交办主动治理任务", "your role may not assign governance tasks")
    instructions = (instructions or "").strip()
    if len(instructions) > 2000:
        raise InvalidInput("治理要求不能超过 2000 字", "instructions must be at most 2000 characters",
                           field="instructions")
    with transaction(session):
        hotspot = access_hotspot(session, actor, hotspot_id)
        target = _unit(session, unit)
        moment = _deadline(deadline)
        name = (title or "").strip()[:200] or f"主动治理：{hotspot.title}"[:200]
        task = GovernanceTask(hotspot_id=hotspot.id, unit_id=target.id, title=name, instructions=instructions,
                              deadline=moment, state=TaskState.open.value, snapshot=_snapshot(session, hotspot),
                              created_by_id=actor.id, created_at=clock.now())
        session.add(task)
        session.flush()
        record_audit(session, actor_id=actor.id, actor_name=actor.name, action="governance.create",
                     object_type="governance_task", object_id=task.id, hotspot_id=hotspot.id, unit=target.code,
                     deadline=moment.isoformat())
    return task


def _unit_ids_of(session: Session, actor: Actor) -> set[int]:
    if actor.unit_id is None:
        return set()
    path = actor.unit_path or ""
    ids = set(session.scalars(select(Unit.id).where(Unit.path.like(f"{path}%")))) if path else set()
    return ids | {actor.unit_id}


def list_governance_tasks(session: Session, actor: Actor, *, state: str | None = None) -> Sequence[GovernanceTask]:
    """Centre roles see every task; a unit's staff see their unit's (and its sub-units')."""
    query = select(GovernanceTask)
    if actor.role in VIEW_ROLES:
        pass
    elif actor.role in UNIT_ROLES:
        query = query.where(GovernanceTask.unit_id.in_(_unit_ids_of(session, actor) or {-1}))
    else:
        raise Forbidden("您的角色无权查看主动治理任务", "your role may not view governance tasks")
    if state:
        if state not in {s.value for s in TaskState}:
            raise InvalidInput("任务状态无效", f"unknown task state {state!r}", field="state")
        query = query.where(GovernanceTask.state == state)
    return session.scalars(query.order_by(GovernanceTask.state.desc(), GovernanceTask.deadline)).all()


def access_governance_task(session: Session, actor: Actor, task_id: int) -> GovernanceTask:
    task = session.get(GovernanceTask, task_id)
    visible = task is not None and (actor.role in VIEW_ROLES or (
        actor.role in UNIT_ROLES and task.unit_id in _unit_ids_of(session, actor)))
    if task is None or not visible:
        raise NotFound("主动治理任务不存在", f"governance task {task_id} not found")
    return task


def complete_governance_task(session: Session, actor: Actor, task_id: int, *, result: str) -> GovernanceTask:
    """The unit reports what it did at the source; the task counts for its assessment (bonus)."""
    result = (result or "").strip()
    if len(result) < 5:
        raise InvalidInput("请填写治理结果（至少 5 个字）", "result is required (at least 5 characters)",
                           field="result")
    if len(result) > 4000:
        raise InvalidInput("治理结果不能超过 4000 字", "result must be at most 4000 characters", field="result")
    with transaction(session):
        task = access_governance_task(session, actor, task_id)
        if actor.role not in UNIT_ROLES | {Role.admin}:
            raise Forbidden("只有承办单位可以办结主动治理任务", "only the unit may complete its governance task")
        if task.state != TaskState.open.value:
            raise Conflict("该任务已不在办理中", "the task is not open")
        task.state = TaskState.done.value
        task.result = result
        task.done_at = clock.now()
        task.done_by_id = actor.id
        record_audit(session, actor_id=actor.id, actor_name=actor.name, action="governance.complete",
                     object_type="governance_task", object_id=task.id, unit_id=task.unit_id,
                     on_time=task.done_at <= task.deadline)
    return task


def cancel_governance_task(session: Session, actor: Actor, task_id: int, *, reason: str) -> GovernanceTask:
    _require(actor, ASSIGN_ROLES, "您的角色无权撤销主动治理任务", "your role may not cancel governance tasks")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("请填写撤销原因", "reason is required", field="reason")
    with transaction(session):
        task = access_governance_task(session, actor, task_id)
        if task.state != TaskState.open.value:
            raise Conflict("该任务已不在办理中", "the task is not open")
        task.state = TaskState.cancelled.value
        task.result = reason[:4000]
        record_audit(session, actor_id=actor.id, actor_name=actor.name, action="governance.cancel",
                     object_type="governance_task", object_id=task.id, reason=reason[:200])
    return task


def governance_tasks_done_by_unit(session: Session, start: datetime, end: datetime) -> dict[int, int]:
    """主动治理 tasks completed by their deadline, per unit, with ``start <= done_at < end``: the
    assessment's bonus count. A task done late earns nothing; it counts as overdue instead."""
    rows = session.execute(select(GovernanceTask.unit_id, func.count(GovernanceTask.id))
                           .where(GovernanceTask.state == TaskState.done.value, GovernanceTask.done_at >= start,
                                  GovernanceTask.done_at < end, GovernanceTask.done_at <= GovernanceTask.deadline)
                           .group_by(GovernanceTask.unit_id)).all()
    return {int(unit_id): int(n) for unit_id, n in rows}


def governance_tasks_overdue_by_unit(session: Session, start: datetime, end: datetime, *,
                                     now: datetime | None = None) -> dict[int, int]:
    """主动治理 tasks per unit whose deadline falls in ``[start, end)`` and has passed without the
    task being done by it (done late, or still open): the assessment's deduction count.

    Counted in the deadline's period, as an appeal's overdue round is, so a task is counted once:
    on time in the period it was done, or overdue in the period its deadline fell. A cancelled
    task counts neither way."""
    moment = now or clock.now()
    rows = session.execute(select(GovernanceTask.unit_id, func.count(GovernanceTask.id))
                           .where(GovernanceTask.state != TaskState.cancelled.value,
                                  GovernanceTask.deadline >= start, GovernanceTask.deadline < end,
                                  GovernanceTask.deadline < moment,
                                  GovernanceTask.done_at.is_(None) | (GovernanceTask.done_at > GovernanceTask.deadline))
                           .group_by(GovernanceTask.unit_id)).all()
    return {int(unit_id): int(n) for unit_id, n in rows}


def _overdue_where(before: datetime | None) -> Any:
    return (GovernanceTask.state == TaskState.open.value) & (GovernanceTask.deadline < (before or clock.now()))


def overdue_governance_tasks(session: Session, *, before: datetime | None = None,
                             limit: int | None = None) -> Sequence[GovernanceTask]:
    """Open tasks whose deadline passed before ``before`` (default now), the longest overdue first."""
    query = select(GovernanceTask).where(_overdue_where(before)).order_by(GovernanceTask.deadline, GovernanceTask.id)
    return session.scalars(query if limit is None else query.limit(limit)).all()


def count_overdue_governance_tasks(session: Session, *, before: datetime | None = None) -> int:
    return int(session.scalar(select(func.count(GovernanceTask.id)).where(_overdue_where(before))) or 0)


# ----------------------------------------------------------------------------- 每月一题

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def choose_monthly_theme(session: Session, actor: Actor, hotspot_id: int, *, month: str,
                         note: str = "") -> MonthlyTheme:
    """每月一题: the month's problem for focused treatment, from a hotspot (re-choosing replaces it)."""
    _require(actor, THEME_ROLES, "您的角色无权确定每月一题", "your role may not choose the monthly theme")
    month = (month or "").strip()
    if not _MONTH.match(month):
        raise InvalidInput("月份应为 YYYY-MM", "month must be YYYY-MM", field="month")
    with transaction(session):
        hotspot = access_hotspot(session, actor, hotspot_id)
        snapshot = _snapshot(session, hotspot)
        theme = session.get(MonthlyTheme, month)
        before = theme.title if theme else None
        if theme is None:
            theme = MonthlyTheme(month=month)
            session.add(theme)
        theme.hotspot_id = hotspot.id
        theme.title = hotspot.title[:200]
        theme.note = (note or "").strip()[:2000]
        theme.snapshot = snapshot
        theme.chosen_by_id = actor.id
        theme.chosen_at = clock.now()
        record_audit(session, actor_id=actor.id, actor_name=actor.name, action="hotspots.monthly_theme",
                     object_type="monthly_theme", object_id=month, hotspot_id=hotspot.id, before=before,
                     after=theme.title)
    return theme


def monthly_themes(session: Session, *, limit: int = 12) -> Sequence[MonthlyTheme]:
    return session.scalars(select(MonthlyTheme).order_by(MonthlyTheme.month.desc()).limit(limit)).all()


def current_month() -> str:
    return clock.local(clock.now()).strftime("%Y-%m")


def units_for_tasks(session: Session) -> Sequence[Unit]:
    return session.scalars(select(Unit).where(Unit.is_active.is_(True)).order_by(Unit.path, Unit.sort_order)).all()
