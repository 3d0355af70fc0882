"""The linear head of ``--method head``: multinomial logistic regression on frozen features.

scikit-learn's ``LogisticRegression`` (L-BFGS, L2 penalty) fits it; it is deterministic for
the same features (no random state is involved in L-BFGS). The features are standardised for
the fit, and the scaling is folded back into the weights so the served graph is a single
``Gemm`` on the raw features.

The penalty matters: with a few hundred rows and 384 features a weak one over-fits (on the
shipped support tickets, C=1 scores 0.91 held-out where C=0.1 scores 0.97). Unless it is given,
it is chosen by stratified k-fold cross-validation *on the training split* (the test split
never takes part), with folds shuffled by the seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class LinearHead:
    weights: FloatArray  # [classes, features]
    bias: FloatArray  # [classes]
    iterations: int
    regularization: float  # scikit-learn's C: inverse strength of the L2 penalty
    #: ``{C: mean cross-validated accuracy}`` when C was chosen, else empty.
    cross_validation: dict[float, float]


#: Candidate strengths for the cross-validated choice (scikit-learn's C, inverse strength).
CANDIDATE_C: tuple[float, ...] = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
MAX_FOLDS = 5


def fit_head(
    features: FloatArray,
    label_ids: npt.NDArray[np.int64],
    classes: int,
    *,
    regularization: float | None = None,
    seed: int = 0,
    max_iterations: int = 1000,
) -> LinearHead:
    """Fit ``classes``-way logistic regression; every class must occur in ``label_ids``.

    ``regularization`` ``None`` chooses C among :data:`CANDIDATE_C` by cross-validation (as
    many folds as the rarest class allows, at most 5); with fewer than 2 rows of some class
    there is nothing to validate on and C=1 is used.
    """
    from sklearn.linear_model import LogisticRegression

    x = features.astype(np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-12] = 1.0
    x = (x - mean) / scale
    scores: dict[float, float] = {}
    if regularization is None:
        scores = _cross_validate(x, label_ids, seed=seed, max_iterations=max_iterations)
        # The best mean accuracy; on a tie the stronger penalty (the simpler model).
        regularization = max(scores, key=lambda c: (scores[c], -c)) if scores else 1.0
    model = LogisticRegression(C=regularization, max_iter=max_iterations, tol=1e-6)
    model.fit(x, label_ids)
    if list(model.classes_) != list(range(classes)):
        raise ValueError(f"the training split lacks some classes: {model.classes_}")
    coef = np.asarray(model.coef_, dtype=np.float64)
    intercept = np.asarray(model.intercept_, dtype=np.float64)
    if classes == 2 and coef.shape[0] == 1:
        # Binary problems come back as one row (the logit of class 1): split it symmetrically.
        coef = np.vstack([-coef / 2, coef / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    weights = coef / scale
    bias = intercept - weights @ mean
    return LinearHead(
        weights=weights.astype(np.float32),
        bias=bias.astype(np.float32),
        iterations=int(np.max(model.n_iter_)),
        regularization=regularization,
        cross_validation=scores,
    )


def _cross_validate(
    x: npt.NDArray[np.float64],
    label_ids: npt.NDArray[np.int64],
    *,
    seed: int,
    max_iterations: int,
) -> dict[float, float]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    folds = min(MAX_FOLDS, int(np.bincount(label_ids).min()))
    if folds < 2:
        return {}
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    splits = list(splitter.split(x, label_ids))
    scores = {}
    for c in CANDIDATE_C:
        hits = 0
        for train, test in splits:
            # scikit-learn's default tolerance: enough to rank the candidates, 3x cheaper.
            model = LogisticRegression(C=c, max_iter=max_iterations)
            model.fit(x[train], label_ids[train])
            hits += int((model.predict(x[test]) == label_ids[test]).sum())
        scores[c] = hits / len(label_ids)
    return scores
