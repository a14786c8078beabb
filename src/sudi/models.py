"""Imports every domain's tables so that metadata (migrations, test set-up) sees them all."""

from sudi.appeals import models as appeals_models
from sudi.core import models as core_models
from sudi.core.db import Base
from sudi.directory import models as directory_models

__all__ = ["Base", "appeals_models", "core_models", "directory_models"]
