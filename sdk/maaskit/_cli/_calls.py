"""``maaskit chat``, ``complete``, ``embed`` and ``classify``: one call to any endpoint."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from .._client import Client
from ..types import ChatMessage, ChatResponse
from ._common import (
    UsageError,
    add_endpoint_options,
    input_texts,
    make_client,
    non_negative_float,
    positive_int,
)

REPL_EXIT = ("/exit", "/quit")


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    chat = commands.add_parser(
        "chat",
        help="Chat with a model (interactive without PROMPT).",
        description="Send PROMPT as a user message and stream the answer. Without PROMPT: an "
        "interactive conversation, one message per line of standard input, until end of input "
        f"or {REPL_EXIT[0]}. PROMPT '-' reads the whole standard input as one message.",
    )
    chat.add_argument("model", metavar="MODEL", help="The model's name on the endpoint.")
    chat.add_argument("prompt", metavar="PROMPT", nargs="?", help="The user message.")
    chat.add_argument("--system", help="A system message before the conversation.")
    _add_generation_options(chat)
    chat.set_defaults(run=run_chat)

    complete = commands.add_parser(
        "complete",
        help="Continue a text prompt.",
        description="Stream the model's continuation of PROMPT (default: standard input).",
    )
    complete.add_argument("model", metavar="MODEL", help="The model's name on the endpoint.")
    complete.add_argument(
        "prompt", metavar="PROMPT", nargs="?", help="The prompt ('-' or none: standard input)."
    )
    _add_generation_options(complete)
    complete.set_defaults(run=run_complete)

    embed = commands.add_parser(
        "embed",
        help="Embedding vectors of texts.",
        description="Embed each TEXT (default: each non-empty line of standard input).",
    )
    embed.add_argument("model", metavar="MODEL", help="The model's name on the endpoint.")
    embed.add_argument("texts", metavar="TEXT", nargs="*", help="Texts to embed.")
    embed.add_argument(
        "--json", action="store_true", help="Print the answer as JSON (vectors in full)."
    )
    add_endpoint_options(embed)
    embed.set_defaults(run=run_embed)

    classify = commands.add_parser(
        "classify",
        help="Labels with scores for texts.",
        description="Classify each TEXT (default: each non-empty line of standard input); one "
        "line per text: label, score, text.",
    )
    classify.add_argument("model", metavar="MODEL", help="The model's name on the endpoint.")
    classify.add_argument("texts", metavar="TEXT", nargs="*", help="Texts to classify.")
    classify.add_argument(
        "--json", action="store_true", help="Print the answer as JSON (every label's score)."
    )
    add_endpoint_options(classify)
    classify.set_defaults(run=run_classify)


def _add_generation_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--max-tokens", type=positive_int, help="Tokens to generate at most.")
    parser.add_argument("--temperature", type=non_negative_float, help="Sampling temperature.")
    parser.add_argument(
        "--no-stream",
        dest="stream",
        action="store_false",
        help="Wait for the whole answer instead of printing it as it comes.",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="Print the whole answer as JSON (text, finish reason, usage); implies --no-stream.",
    )
    add_endpoint_options(parser)


def _generation_params(args: argparse.Namespace) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if args.max_tokens is not None:
        params["max_tokens"] = args.max_tokens
    if args.temperature is not None:
        params["temperature"] = args.temperature
    return params


def run_chat(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> None:
    history: list[ChatMessage] = []
    if args.system:
        history.append(ChatMessage(role="system", content=args.system))
    with make_client(args) as client:
        if args.prompt is not None:
            prompt = stdin.read() if args.prompt == "-" else args.prompt
            history.append(ChatMessage(role="user", content=prompt))
            _chat_turn(client, args, history, stdout)
            return
        if args.json:
            raise UsageError("--json needs a PROMPT (the interactive conversation prints text)")
        _repl(client, args, history, stdin, stdout)


def _repl(
    client: Client,
    args: argparse.Namespace,
    history: list[ChatMessage],
    stdin: TextIO,
    stdout: TextIO,
) -> None:
    interactive = stdin.isatty()
    if interactive:
        sys.stderr.write(f"chatting with {args.model}; end with {REPL_EXIT[0]} or Ctrl-D\n")
    while True:
        if interactive:
            sys.stderr.write("> ")
            sys.stderr.flush()
        line = stdin.readline()
        if not line or line.strip() in REPL_EXIT:
            return
        if not line.strip():
            continue
        history.append(ChatMessage(role="user", content=line.rstrip("\r\n")))
        history.append(
            ChatMessage(role="assistant", content=_chat_turn(client, args, history, stdout))
        )


def _chat_turn(
    client: Client, args: argparse.Namespace, history: list[ChatMessage], stdout: TextIO
) -> str:
    params = _generation_params(args)
    if args.json or not args.stream:
        reply: ChatResponse = client.chat(model=args.model, messages=history, **params)
        stdout.write(reply.model_dump_json(indent=2) if args.json else reply.text)
        stdout.write("\n")
        stdout.flush()
        return reply.text
    parts: list[str] = []
    with client.chat(model=args.model, messages=history, stream=True, **params) as stream:
        for chunk in stream:
            parts.append(chunk.text)
            stdout.write(chunk.text)
            stdout.flush()
    stdout.write("\n")
    stdout.flush()
    return "".join(parts)


def run_complete(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> None:
    if args.prompt is None or args.prompt == "-":
        if args.prompt is None and stdin.isatty():
            raise UsageError("give a PROMPT or pipe it on standard input")
        prompt = stdin.read()
    else:
        prompt = args.prompt
    params = _generation_params(args)
    with make_client(args) as client:
        if args.json or not args.stream:
            completion = client.complete(model=args.model, prompt=prompt, **params)
            stdout.write(completion.model_dump_json(indent=2) if args.json else completion.text)
            stdout.write("\n")
            return
        with client.complete(model=args.model, prompt=prompt, stream=True, **params) as stream:
            for chunk in stream:
                stdout.write(chunk.text)
                stdout.flush()
        stdout.write("\n")


def run_embed(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> None:
    texts = input_texts(args.texts, stdin)
    with make_client(args) as client:
        answer = client.embed(model=args.model, input=texts)
    if args.json:
        stdout.write(answer.model_dump_json() + "\n")
        return
    for text, vector in zip(texts, answer.vectors, strict=True):
        head = ", ".join(f"{value:.4f}" for value in vector[:4])
        more = ", …" if len(vector) > 4 else ""
        stdout.write(f"{len(vector)} dims  [{head}{more}]  {text}\n")


def run_classify(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> None:
    texts = input_texts(args.texts, stdin)
    with make_client(args) as client:
        answer = client.classify(model=args.model, input=texts)
    if args.json:
        stdout.write(json.dumps(answer.model_dump(mode="json"), ensure_ascii=False) + "\n")
        return
    for text, result in zip(texts, answer.results, strict=True):
        stdout.write(f"{result.label}\t{result.score:.4f}\t{text}\n")
