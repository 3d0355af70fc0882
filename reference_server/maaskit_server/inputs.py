"""What the runtimes raise about a request's inputs: domain errors, no HTTP in them.

An encoder or generation runtime that cannot take an input says why with one of these; the
app answers them as 400s in one place (``app.py``), in the shape of the protocol whose path
it is, as it does the engine's :class:`~maaskit_server.generation.errors.InvalidParameterError`.
"""

from __future__ import annotations


class InputError(ValueError):
    """An input the model cannot take. ``param`` names the request field, ``code`` the kind."""

    code = "invalid_value"

    def __init__(self, message: str, *, param: str | None = "input") -> None:
        super().__init__(message)
        self.message = message
        self.param = param


class InputTooLongError(InputError):
    """More tokens (or characters) than the model takes, and truncation was not asked for.

    ``truncatable``: the request could have asked to cut it instead; how it asks is the
    protocol's wording, added where the error is answered."""

    code = "context_length_exceeded"

    def __init__(
        self, message: str, *, param: str | None = "input", truncatable: bool = False
    ) -> None:
        super().__init__(message, param=param)
        self.truncatable = truncatable


class InvalidTokenIdError(InputError):
    """A token-id input names an id outside the model's vocabulary."""

    code = "invalid_token_id"


class TooManyInputsError(InputError):
    """More inputs in one request than the model's queue could ever hold."""

    code = "too_many_inputs"
