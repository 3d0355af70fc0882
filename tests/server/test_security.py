from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from maaskit_server.security import (
    APIKeyChecker,
    hash_key,
    parse_keys_env,
    presented_key,
    read_key_hashes_file,
)
from starlette.datastructures import Headers


def test_checker_accepts_only_configured_keys() -> None:
    checker = APIKeyChecker([hash_key("alpha"), hash_key("beta")])
    assert checker.enabled
    assert checker.is_valid("alpha")
    assert checker.is_valid("beta")
    assert not checker.is_valid("gamma")
    assert not checker.is_valid("")


def test_checker_repr_shows_no_key_material() -> None:
    checker = APIKeyChecker([hash_key("sk-secret-value")])
    assert "sk-secret" not in repr(checker)
    assert hash_key("sk-secret-value").hex() not in repr(checker)


def test_keys_file_holds_sha256_hex_digests(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    digest = hashlib.sha256(b"from-file").hexdigest()
    path.write_text(f"# team keys\n{digest}  # ci\n\n")
    checker = APIKeyChecker(read_key_hashes_file(path))
    assert checker.is_valid("from-file")
    assert not checker.is_valid(digest)


def test_keys_file_rejects_a_plain_key_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text(hashlib.sha256(b"ok").hexdigest() + "\nnot-a-digest\n")
    with pytest.raises(ValueError, match=":2: not a SHA-256"):
        read_key_hashes_file(path)


def test_env_list_ignores_blanks() -> None:
    assert parse_keys_env(" a, ,b ,") == ["a", "b"]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"authorization": "Bearer k1"}, "k1"),
        ({"authorization": "bearer  k2 "}, "k2"),
        ({"api-key": "k3"}, "k3"),
        ({"authorization": "Basic abc"}, None),
        ({}, None),
    ],
)
def test_presented_key(headers: dict[str, str], expected: str | None) -> None:
    assert presented_key(Headers(headers)) == expected


def test_keys_file_lines_may_scope_a_key_to_models(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    scoped = hashlib.sha256(b"team-a").hexdigest()
    unscoped = hashlib.sha256(b"admin").hexdigest()
    path.write_text(f"{scoped}  sentiment,all-minilm-l6-v2  # team a\n{unscoped}\n")
    checker = APIKeyChecker(read_key_hashes_file(path))
    team = checker.find("team-a")
    admin = checker.find("admin")
    assert team is not None
    assert team.models == frozenset({"sentiment", "all-minilm-l6-v2"})
    assert admin is not None
    assert admin.models is None
    assert checker.find("nobody") is None
    assert scoped not in repr(team)


@pytest.mark.parametrize(
    ("line", "message"),
    [("{digest} a, b", "no spaces"), ("{digest} ,", "empty model list")],
)
def test_keys_file_scope_errors_name_the_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "keys"
    path.write_text(line.format(digest=hashlib.sha256(b"k").hexdigest()) + "\n")
    with pytest.raises(ValueError, match=f":1: .*{message}"):
        read_key_hashes_file(path)
