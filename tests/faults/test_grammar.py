"""The fault grammar: what parses, what each spec means, and the errors that name the problem."""

from __future__ import annotations

import pytest
from maaskit_server.faults import FaultController, FaultSpec, FaultSyntaxError, RequestFacts
from maaskit_server.faults import parse_fault as parse


def test_a_status_fault_with_its_retry_headers_and_count() -> None:
    spec = parse("status=503; times=2; retry_after=0")
    assert spec == FaultSpec(status=503, times=2, retry_after=0.0)
    assert spec.kind == "status_503"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("reset=headers", "reset_before_headers"),
        ("reset=2", "reset_mid_stream"),
        ("malformed=1", "malformed"),
        ("truncate=0", "truncate"),
        ("error_event=4", "error_event"),
        ("stall=3; stall_max_s=5", "stall"),
        ("drip_ms=50", "drip"),
        ("latency_ms=200", "latency"),
        (" Latency_MS = 200 ; ", "latency"),
    ],
)
def test_each_kind_parses(text: str, kind: str) -> None:
    assert parse(text).kind == kind


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "names no fault"),
        ("times=2", "names no fault"),
        ("status=418", "must be one of"),
        ("status=abc", "expected an integer"),
        ("latency_ms=-1", "must be between 0"),
        ("reset=3; truncate=2", "only one of"),
        ("reset=headers; reset=2", "given twice"),
        ("status=503; drip_ms=10", "cannot be combined"),
        ("retry_after=1", "need status="),
        ("bogus=1", "unknown fault directive"),
        ("status", "expected name=value"),
        ("times=0; status=500", "must be between 1"),
    ],
)
def test_bad_faults_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(FaultSyntaxError, match=message):
        parse(text)


def facts(key: str | None = None, path: str = "/v1/embeddings") -> RequestFacts:
    return RequestFacts("POST", path, "m", key)


def test_times_counts_per_idempotency_key() -> None:
    controller = FaultController()
    header = "status=503; times=2"
    first = [controller.select(header, facts("a")) is not None for _ in range(3)]
    other = [controller.select(header, facts("b")) is not None for _ in range(3)]
    assert first == other == [True, True, False]


def test_an_id_groups_calls_with_different_keys() -> None:
    controller = FaultController()
    header = "status=500; times=1; id=shared"
    assert controller.select(header, facts("a")) is not None
    assert controller.select(header, facts("b")) is None


def test_without_times_every_request_is_faulted() -> None:
    controller = FaultController()
    assert all(controller.select("status=502", facts()) is not None for _ in range(5))
    assert controller.snapshot()["injected"] == {"status_502": 5}


def test_a_header_fault_wins_over_the_script() -> None:
    controller = FaultController()
    controller.add_rules([{"fault": "status=500", "times": 1}])
    spec = controller.select("status=429", facts())
    assert spec is not None
    assert spec.status == 429
    assert controller.snapshot()["rules"][0]["remaining"] == 1


def test_the_admin_key_is_checked_against_its_digest() -> None:
    import hashlib

    controller = FaultController(hashlib.sha256(b"right").hexdigest())
    assert controller.admin_key_is_valid("right")
    assert not controller.admin_key_is_valid("wrong")
    assert not FaultController().admin_key_is_valid("")
