"""LangChain's ``ChatOpenAI`` against the server: ``with_structured_output`` and ``bind_tools``.

Chat models need no tiktoken download (only token counting and embeddings would), so this
runs offline; ``TIKTOKEN_CACHE_DIR`` is pointed at an empty folder all the same, so that an
accidental download fails loudly instead of reaching out.
"""

from __future__ import annotations

from typing import Any, Literal

import pytest
from _support.server import ServerProcess
from pydantic import BaseModel, Field

pytestmark = pytest.mark.conformance

langchain_openai = pytest.importorskip("langchain_openai")


class Verdict(BaseModel):
    """A verdict on a play."""

    title: str = Field(description="the play")
    stars: int = Field(ge=1, le=5)
    mood: Literal["comic", "tragic"]


class GetWeather(BaseModel):
    """Weather in a city."""

    city: str
    days: int = Field(ge=1, le=7)


@pytest.fixture(scope="module")
def chat(reference_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Any:
    mp = pytest.MonkeyPatch()
    mp.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path_factory.mktemp("tiktoken")))
    yield langchain_openai.ChatOpenAI(
        model="tiny-shakespeare",
        base_url=reference_server.v1,
        api_key=reference_server.api_key,
        max_tokens=150,
        seed=3,
        max_retries=0,
    )
    mp.undo()


@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
def test_with_structured_output_returns_the_model(chat: Any, method: str) -> None:
    structured = chat.with_structured_output(Verdict, method=method)
    verdict = structured.invoke("Judge Hamlet.")
    assert isinstance(verdict, Verdict)
    assert 1 <= verdict.stars <= 5
    assert verdict.mood in ("comic", "tragic")


def test_bind_tools_round_trip(chat: Any) -> None:
    from langchain_core.messages import HumanMessage, ToolMessage

    bound = chat.bind_tools([GetWeather], tool_choice="required")
    question = HumanMessage("Weather in Verona?")
    reply = bound.invoke([question])
    assert len(reply.tool_calls) == 1
    call = reply.tool_calls[0]
    assert call["name"] == "GetWeather"
    GetWeather.model_validate(call["args"])
    # The tool's result goes back; with tool_choice auto the server then answers with text.
    answer = chat.bind_tools([GetWeather]).invoke(
        [question, reply, ToolMessage("sunny, 24 C", tool_call_id=call["id"])]
    )
    assert answer.tool_calls == []
    assert isinstance(answer.content, str)
    assert answer.content


def test_bind_tools_with_tool_choice_none_answers_text(chat: Any) -> None:
    reply = chat.bind_tools([GetWeather], tool_choice="none").invoke("Weather in Verona?")
    assert reply.tool_calls == []
    assert reply.content


def test_streamed_tool_call_chunks_assemble(chat: Any) -> None:
    bound = chat.bind_tools([GetWeather], tool_choice="GetWeather")
    merged = None
    for chunk in bound.stream("Weather in Verona?"):
        merged = chunk if merged is None else merged + chunk
    assert merged is not None
    assert len(merged.tool_calls) == 1
    GetWeather.model_validate(merged.tool_calls[0]["args"])
