"""The provider interface: a backend protocol as pure functions over bytes."""

from __future__ import annotations

import abc
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from .._http import HttpRequest, HttpResponse
from .._tasks import Task
from ..types import Result

__all__ = ["Provider", "StreamDecoder"]

RequestT = TypeVar("RequestT", bound=BaseModel)
ResultT = TypeVar("ResultT", bound=Result)
ChunkT = TypeVar("ChunkT", bound=Result)
ChunkT_co = TypeVar("ChunkT_co", bound=Result, covariant=True)


class StreamDecoder(abc.ABC, Generic[ChunkT_co]):
    """Turns the bytes of one streamed response into typed chunks, in any split.

    ``done`` becomes true when the protocol's end marker (e.g. ``[DONE]``) was seen. An
    in-band error event is raised (as :class:`maaskit.APIStatusError`) only after the chunks
    that came before it were handed out: decoders park it with ``defer`` and the transport
    calls ``raise_deferred`` after delivering each batch.
    """

    done: bool = False
    _deferred: Exception | None = None

    def defer(self, error: Exception) -> None:
        self._deferred = error

    def raise_deferred(self) -> None:
        error, self._deferred = self._deferred, None
        if error is not None:
            raise error

    @abc.abstractmethod
    def feed(self, data: bytes) -> list[ChunkT_co]: ...

    @abc.abstractmethod
    def close(self) -> list[ChunkT_co]:
        """The stream ended: decode whatever is still buffered."""


class Provider(abc.ABC):
    """A backend protocol. Providers never do I/O, so sync and async share all of it.

    A provider that lacks a task raises ``NotImplementedError`` from ``build_request``;
    ``supports`` lets a router check first.
    """

    name: str

    @abc.abstractmethod
    def supports(self, task: Task[Any, Any, Any]) -> bool: ...

    @abc.abstractmethod
    def build_request(self, task: Task[RequestT, Any, Any], request: RequestT) -> HttpRequest: ...

    @abc.abstractmethod
    def parse_response(self, task: Task[Any, ResultT, Any], response: HttpResponse) -> ResultT:
        """Parse a successful answer; raise ``ResponseValidationError`` on a malformed body."""

    @abc.abstractmethod
    def stream_decoder(self, task: Task[Any, Any, ChunkT]) -> StreamDecoder[ChunkT]: ...

    @abc.abstractmethod
    def error_message(self, response: HttpResponse) -> str | None:
        """The human message inside an error body, if the provider's error shape has one."""

    def retry_hint(self, response: HttpResponse) -> float | None:
        """Seconds an error body asks the client to wait before retrying, if it says so."""
        return None
