"""Chat templates: a model's Jinja2 ``chat_template`` rendered in a sandbox.

Templates ship inside model folders, so they are treated as untrusted code: they run in
``ImmutableSandboxedEnvironment`` (no attribute access to internals, no mutation of the
messages), with the same options and helpers as Hugging Face ``transformers`` so that
published templates render identically.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NoReturn

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

from maaskit_server.generation.errors import ChatTemplateError

# Used when a model folder has no chat_template. Plain text rather than ChatML because the small
# models this server targets have no special tokens for turns; each message is one
# "Role: content" line and the prompt ends with "Assistant:" for the model to continue.
DEFAULT_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ message['role'] | capitalize }}: {{ message['content'] }}\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}Assistant:{% endif %}"
)


def _raise_exception(message: str) -> NoReturn:
    raise jinja2.TemplateError(message)


def _tojson(value: Any, indent: int | None = None) -> str:
    # transformers' override: keep non-ASCII text readable in prompts.
    return json.dumps(value, ensure_ascii=False, indent=indent)


def _strftime_now(format_string: str) -> str:
    return datetime.now().strftime(format_string)


def _environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=[loopcontrols],
        autoescape=False,
    )
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    return env


class ChatTemplate:
    """A compiled chat template plus the special tokens templates commonly refer to."""

    def __init__(self, source: str | None, special_tokens: Mapping[str, str] | None = None) -> None:
        self.source = source if source else DEFAULT_CHAT_TEMPLATE
        self.is_default = not source
        self._special_tokens = dict(special_tokens or {})
        try:
            self._template = _environment().from_string(self.source)
        except jinja2.TemplateError as exc:
            raise ChatTemplateError(f"the model's chat template does not compile: {exc}") from exc

    def render(
        self, messages: Sequence[Mapping[str, Any]], add_generation_prompt: bool = True
    ) -> str:
        context: dict[str, Any] = {
            "bos_token": "",
            "eos_token": "",
            **self._special_tokens,
            "messages": [dict(m) for m in messages],
            "add_generation_prompt": add_generation_prompt,
        }
        try:
            return self._template.render(**context)
        except Exception as exc:
            # The template is untrusted code from a model folder: any failure, including a
            # sandbox refusal (SecurityError), is reported as an error of this request.
            raise ChatTemplateError(f"could not apply the chat template: {exc}") from exc
