"""What the analytics API accepts and returns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from sudi.analytics.models import WARNING_KIND_LABELS, WARNING_STATE_LABELS, EarlyWarning


class WarningOut(BaseModel):
    id: int
    kind: str
    kind_label: str
    dimension: str
    title: str
    severity: str
    state: str
    state_label: str
    evidence: dict[str, Any]
    appeal_count: int
    first_detected_at: datetime
    last_detected_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    closed_at: datetime | None
    closed_by: str | None
    note: str


def warning_out(warning: EarlyWarning) -> WarningOut:
    evidence = dict(warning.evidence or {})
    evidence.pop("phone", None)  # the queue shows the masked number only
    return WarningOut(id=warning.id, kind=warning.kind, kind_label=WARNING_KIND_LABELS.get(warning.kind, warning.kind),
                      dimension=warning.dimension, title=warning.title, severity=warning.severity,
                      state=warning.state, state_label=WARNING_STATE_LABELS.get(warning.state, warning.state),
                      evidence=evidence, appeal_count=len(warning.appeal_ids or []),
                      first_detected_at=warning.first_detected_at, last_detected_at=warning.last_detected_at,
                      acknowledged_at=warning.acknowledged_at, acknowledged_by=warning.acknowledged_by,
                      closed_at=warning.closed_at, closed_by=warning.closed_by, note=warning.note)


class WarningList(BaseModel):
    total: int
    items: list[WarningOut]


class WarningAction(BaseModel):
    note: str = Field("", max_length=2000, description="处理说明（关闭时必填）")


class PolicyUpdate(BaseModel):
    """Sections and values to change, e.g. ``{"spike": {"min_ratio": 2}}``."""

    changes: dict[str, dict[str, Any]]
