"""The linear head of ``--method head``: multinomial logistic regression on frozen features.

scikit-learn's ``LogisticRegression`` (L-BFGS, L2 penalty) fits it; it is deterministic for
the same features (no random state is involved in L-BFGS). The features are standardised for
the fit, which makes one regularisation strength suit encoders of any scale, and the scaling
is folded back into the weights so the served graph is a single ``Gemm`` on the raw features.
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


def fit_head(
    features: FloatArray,
    label_ids: npt.NDArray[np.int64],
    classes: int,
    *,
    regularization: float = 1.0,
    max_iterations: int = 1000,
) -> LinearHead:
    """Fit ``classes``-way logistic regression; every class must occur in ``label_ids``."""
    from sklearn.linear_model import LogisticRegression

    x = features.astype(np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-12] = 1.0
    model = LogisticRegression(C=regularization, max_iter=max_iterations, tol=1e-6)
    model.fit((x - mean) / scale, label_ids)
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
    )
