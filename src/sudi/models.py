"""Imports every domain's tables so that metadata (migrations, test set-up) sees them all."""

from sudi.analytics import models as analytics_models  # noqa: F401  (dashboards rollup, early warnings)
from sudi.appeals import models as appeals_models
from sudi.appeals import (
    reply_review_models,  # noqa: F401  (reply quality scores)
    smart_dispatch_models,  # noqa: F401  (smart dispatch's tables)
)
from sudi.assessment import models as assessment_models  # noqa: F401  (the assessment's rounds projection)
from sudi.core import models as core_models
from sudi.core.db import Base
from sudi.directory import models as directory_models
from sudi.hotspots import models as hotspots_models  # noqa: F401  (hotspots, 主动治理 tasks, 每月一题)

__all__ = ["Base", "appeals_models", "core_models", "directory_models"]
