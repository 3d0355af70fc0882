"""Measure MaaS endpoints on your own labelled data: quality, latency and cost side by side.

``maaskit.evaluate(endpoints, task="classify", data="labelled.jsonl", model="sentiment")``
returns an :class:`EvalReport`; ``report.write_json(path)`` writes what
``client.router.load_eval`` reads, so a ``best_value`` router routes on the measured quality.
The table, progress bars and plot need the ``eval`` extra (``pip install "maaskit[eval]"``).
"""

from ._classify import OTHER_LABEL, ClassificationScores, ClassMetrics, score_classification
from ._data import (
    TASKS,
    ClassifyItem,
    DataError,
    Dataset,
    GenerationItem,
    PairItem,
    RetrievalItem,
    Task,
    load_dataset,
)
from ._datasets import DATASETS, dataset_path, resolve_data
from ._evaluate import (
    DEFAULT_SCORER,
    default_model,
    evaluate,
    evaluate_async,
    select_endpoints,
)
from ._recommend import DEFAULT_MAX_ERROR_RATE, pareto_front, recommend
from ._render import MissingExtra, RichProgress, render_table, report_table, write_plot
from ._report import (
    QUALITY_METRICS,
    REPORT_VERSION,
    EndpointResult,
    EvalReport,
    Recommendation,
    percentile,
)
from ._retrieval import RetrievalScores, cosine, rank_average, score_retrieval, spearman
from ._runner import CallResult, ProgressHook, error_kind
from ._text import (
    SCORERS,
    ScorerError,
    TextScorer,
    apply_scorer,
    contains,
    exact,
    normalize,
    normalized,
    regex,
    resolve_scorer,
)

__all__ = [
    "DATASETS",
    "DEFAULT_MAX_ERROR_RATE",
    "DEFAULT_SCORER",
    "OTHER_LABEL",
    "QUALITY_METRICS",
    "REPORT_VERSION",
    "SCORERS",
    "TASKS",
    "CallResult",
    "ClassMetrics",
    "ClassificationScores",
    "ClassifyItem",
    "DataError",
    "Dataset",
    "EndpointResult",
    "EvalReport",
    "GenerationItem",
    "MissingExtra",
    "PairItem",
    "ProgressHook",
    "Recommendation",
    "RetrievalItem",
    "RetrievalScores",
    "RichProgress",
    "ScorerError",
    "Task",
    "TextScorer",
    "apply_scorer",
    "contains",
    "cosine",
    "dataset_path",
    "default_model",
    "error_kind",
    "evaluate",
    "evaluate_async",
    "exact",
    "load_dataset",
    "normalize",
    "normalized",
    "pareto_front",
    "percentile",
    "rank_average",
    "recommend",
    "regex",
    "render_table",
    "report_table",
    "resolve_data",
    "resolve_scorer",
    "score_classification",
    "score_retrieval",
    "select_endpoints",
    "spearman",
    "write_plot",
]
