"""Smart dispatch suggestions learnt from a district's own history (issue 3).

Text in, suggestion out: train on any labelled history (categories, responsible units, appeal types),
then ask for the likely label of a new message with a calibrated probability, the runner-up labels
and the words that weighed most. A library: it imports nothing of sudi but ``sudi.core``.

    model = train_classifier(texts, labels)
    model.save("units.sudimodel")
    model = load_classifier("units.sudimodel")
    suggestion = model.predict("向阳区光复路路灯不亮")  # Prediction(label, confidence, top, evidence)
"""

from sudi.intelligence.classify.features import FeatureExtractor, FeatureSettings, is_presegmented, normalise
from sudi.intelligence.classify.io import Table, parse_columns, read_table, time_key, write_csv
from sudi.intelligence.classify.model import (
    FORMAT_VERSION,
    Evidence,
    LabelScore,
    Prediction,
    TextClassifier,
    TrainSettings,
    load_classifier,
    quality_metrics,
    recency_weights,
    train_classifier,
)

__all__ = [
    "FORMAT_VERSION",
    "Evidence",
    "FeatureExtractor",
    "FeatureSettings",
    "LabelScore",
    "Prediction",
    "Table",
    "TextClassifier",
    "TrainSettings",
    "is_presegmented",
    "load_classifier",
    "normalise",
    "parse_columns",
    "quality_metrics",
    "read_table",
    "recency_weights",
    "time_key",
    "train_classifier",
    "write_csv",
]
