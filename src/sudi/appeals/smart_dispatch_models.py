"""Tables of smart dispatch (智能派单): the registry of trained model files and the dispatchers' labels."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sudi.core.db import Base, UTCDateTime


class DispatchModel(Base):
    """One trained model file of one kind (category, appeal_type, lead_unit) and how it measured.

    ``status``: ``active`` (the one in use for its kind), ``retired`` (replaced by a newer one) or
    ``rejected`` (worse than the model in use on the same held-out slice; its file is removed)."""

    __tablename__ = "dispatch_models"
    __table_args__ = (UniqueConstraint("kind", "version", name="uq_dispatch_models_kind_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(String(500))
    trained_at: Mapped[datetime] = mapped_column(UTCDateTime)
    trained_by: Mapped[str] = mapped_column(String(64))
    training_size: Mapped[int] = mapped_column(Integer)
    held_out_size: Mapped[int] = mapped_column(Integer)
    # accuracy, macro_f1, top3_accuracy on the held-out slice of the district's own history
    quality: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # the model in use at training time, measured on the same slice: {"version": 3, "accuracy": …}
    compared_with: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    manifest: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class DispatchLabel(Base):
    """A dispatcher's decision that differed from the suggestion: a label for the next training."""

    __tablename__ = "dispatch_labels"
    __table_args__ = (Index("ix_dispatch_labels_kind_appeal", "kind", "appeal_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeals.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    suggested: Mapped[str | None] = mapped_column(String(64))
    chosen: Mapped[str] = mapped_column(String(64))
    confidence: Mapped[float | None] = mapped_column(Float)
    model_version: Mapped[int | None] = mapped_column(Integer)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
