"""The SDK's client commands (``maaskit chat|complete|embed|classify|models list``) against the
session's real reference server, checked against what the SDK itself answers."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pytest
from _support.server import ServerProcess, free_port
from maaskit import Client
from maaskit._cli import main

CHAT_MODEL = "tiny-shakespeare"


def run(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    stdin: str = "",
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    status = main(args)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def endpoint(server: ServerProcess) -> list[str]:
    return ["--base-url", server.v1, "--api-key", server.api_key]


def sdk(server: ServerProcess) -> Client:
    return Client(provider="openai", base_url=server.v1, api_key=server.api_key)


def test_chat_streams_the_same_answer_the_sdk_gets(
    reference_server: ServerProcess,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    args = ["chat", CHAT_MODEL, "Speak, friend", "--max-tokens", "12", "--temperature", "0"]
    status, out, err = run(capsys, monkeypatch, [*args, *endpoint(reference_server)])
    assert status == 0, err
    with sdk(reference_server) as client:
        expected = client.chat(
            model=CHAT_MODEL,
            messages=[{"role": "user", "content": "Speak, friend"}],
            max_tokens=12,
            temperature=0,
        ).text
    assert expected
    assert out == expected + "\n"


def test_chat_without_a_prompt_is_a_conversation_that_keeps_its_history(
    reference_server: ServerProcess,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    args = ["chat", CHAT_MODEL, "--max-tokens", "6", "--temperature", "0", "--system", "Be brief"]
    status, out, err = run(
        capsys, monkeypatch, [*args, *endpoint(reference_server)], stdin="Hello\n\nAgain\n/exit\nNo"
    )
    assert status == 0, err
    history: list[dict[str, str]] = [{"role": "system", "content": "Be brief"}]
    expected = ""
    with sdk(reference_server) as client:
        for line in ("Hello", "Again"):
            history.append({"role": "user", "content": line})
            answer = client.chat(
                model=CHAT_MODEL, messages=history, max_tokens=6, temperature=0
            ).text
            history.append({"role": "assistant", "content": answer})
            expected += answer + "\n"
    assert out == expected  # two turns: the empty line is skipped, /exit ends it


def test_complete_reads_the_prompt_from_stdin_and_prints_json(
    reference_server: ServerProcess,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    args = ["complete", CHAT_MODEL, "--max-tokens", "8", "--temperature", "0", "--json"]
    status, out, err = run(
        capsys, monkeypatch, [*args, *endpoint(reference_server)], stdin="To be, or"
    )
    assert status == 0, err
    with sdk(reference_server) as client:
        expected = client.complete(
            model=CHAT_MODEL, prompt="To be, or", max_tokens=8, temperature=0
        ).text
    assert json.loads(out)["texts"] == [expected]


def test_embed_texts_from_arguments_and_as_json(
    reference_server: ServerProcess,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    texts = ["a first text", "a second one"]
    base = ["embed", "all-minilm-l6-v2", *texts, *endpoint(reference_server)]
    status, out, err = run(capsys, monkeypatch, base)
    assert status == 0, err
    lines = out.splitlines()
    assert [line.split("  ")[-1] for line in lines] == texts
    assert all(line.startswith("384 dims  [") for line in lines)
    status, out, err = run(capsys, monkeypatch, [*base, "--json"])
    assert status == 0, err
    with sdk(reference_server) as client:
        expected = client.embed(model="all-minilm-l6-v2", input=texts).vectors
    np.testing.assert_allclose(json.loads(out)["vectors"], expected, atol=1e-6)


def test_classify_reads_one_text_per_stdin_line(
    reference_server: ServerProcess,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    texts = ["I love this so much", "This is terrible and I hate it"]
    args = ["classify", "sentiment", *endpoint(reference_server)]
    status, out, err = run(capsys, monkeypatch, args, stdin="\n".join(texts) + "\n\n")
    assert status == 0, err
    with sdk(reference_server) as client:
        expected = client.classify(model="sentiment", input=texts).results
    rows = [line.split("\t") for line in out.splitlines()]
    assert [(row[0], row[2]) for row in rows] == [
        (r.label, t) for r, t in zip(expected, texts, strict=True)
    ]
    status, out, err = run(capsys, monkeypatch, [*args, "--json", texts[0]])
    assert status == 0, err
    assert json.loads(out)["results"][0]["label"] == expected[0].label


def test_the_sdk_environment_variables_configure_the_endpoint(
    reference_server: ServerProcess,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MAASKIT_BASE_URL", reference_server.v1)
    monkeypatch.setenv("MAASKIT_API_KEY", reference_server.api_key)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    status, out, err = run(capsys, monkeypatch, ["classify", "sentiment", "great", "--json"])
    assert status == 0, err
    assert json.loads(out)["results"][0]["label"] == "positive"


def test_models_list_asks_the_running_server_and_loads_nothing_here(
    reference_server: ServerProcess,
) -> None:
    script = (
        "import sys; from maaskit._cli import main; status = main(sys.argv[1:]); "
        "loaded = sorted(m for m in ('onnxruntime', 'maaskit_server', 'tokenizers') "
        "if m in sys.modules); print('loaded:', loaded); sys.exit(status)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, "models", "list", "--json", *endpoint(reference_server)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    listing, loaded = result.stdout.splitlines()
    ids = {model["id"] for model in json.loads(listing)}
    assert {"all-minilm-l6-v2", "sentiment", "tiny-shakespeare"} <= ids
    assert loaded == "loaded: []"


def test_a_wrong_key_fails_in_one_line_without_printing_the_key(
    reference_server: ServerProcess,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "sk-wrong-" + "7" * 24
    args = ["embed", "all-minilm-l6-v2", "x", "--base-url", reference_server.v1]
    status, out, err = run(capsys, monkeypatch, [*args, "--api-key", secret])
    assert status == 1
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("maaskit: error: ")
    assert "Traceback" not in err
    assert secret not in err
    assert secret[-12:] not in err


def test_an_unknown_model_and_an_unreachable_endpoint_exit_1(
    reference_server: ServerProcess,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    status, _, err = run(
        capsys, monkeypatch, ["embed", "no-such-model", "x", *endpoint(reference_server)]
    )
    assert status == 1
    assert "no-such-model" in err
    assert err.count("\n") == 1
    args = ["chat", CHAT_MODEL, "hi", "--base-url", f"http://127.0.0.1:{free_port()}/v1"]
    status, _, err = run(capsys, monkeypatch, [*args, "--max-retries", "0"])
    assert status == 1
    assert err.startswith("maaskit: error: ")
    assert err.count("\n") == 1


def test_bad_input_exits_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    status, _, err = run(capsys, monkeypatch, ["embed", "m", "--base-url", "http://127.0.0.1:9"])
    assert status == 2
    assert err == "maaskit: error: no input: standard input had no non-empty line\n"
    status, _, err = run(capsys, monkeypatch, ["chat", "m", "hi", "--max-tokens", "0"])
    assert status == 2
    assert "--max-tokens: '0' must be 1 or more" in err
