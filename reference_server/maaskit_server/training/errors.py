"""The one error type of the training pipeline."""

from __future__ import annotations


class TrainingError(ValueError):
    """The data, the base model or the output folder cannot be used; the message says why.

    Raised before anything is written to the output folder (or after the staging folder was
    removed), so a failed run leaves nothing half-written. The CLI prints it on one line and
    exits with status 2.
    """
