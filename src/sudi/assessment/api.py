"""REST face of the unit assessment: ``GET /api/v1/assessment``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from sudi.assessment import service
from sudi.assessment.schemas import AssessmentOut, assessment_out
from sudi.deps import ActorDep, SessionDep

router = APIRouter(prefix="/api/v1", tags=["assessment"])


@router.get("/assessment", response_model=AssessmentOut,
            summary="考核排名（三率）/ unit assessment and ranking for a period")
def get_assessment(session: SessionDep, actor: ActorDep,
                   period: Annotated[str | None, Query(max_length=32,
                                                       description="YYYY-MM, YYYY-Qn or YYYY")] = None,
                   date_from: Annotated[str | None, Query(alias="from", max_length=32,
                                                          description="custom period start, YYYY-MM-DD")] = None,
                   date_to: Annotated[str | None, Query(alias="to", max_length=32,
                                                        description="custom period end, inclusive")] = None,
                   ) -> AssessmentOut:
    """Per unit: volume, every numerator and denominator, the rates, the composite score and its
    adjustments, the rank and the red/black list flags. Centre roles see every unit; a unit
    leader sees only their own unit's row (with its rank among all units). Without a period: the
    current month."""
    scope = service.access_assessment(actor)
    parsed = service.parse_period(period, date_from, date_to)
    return assessment_out(service.compute_assessment(session, parsed, scope=scope))
