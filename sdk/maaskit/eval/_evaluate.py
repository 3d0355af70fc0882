"""``maaskit.evaluate``: measure endpoints on labelled data — quality, latency and cost."""

from __future__ import annotations

import dataclasses
import datetime
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._data import Dataset, Task, load_dataset
from ._plan import Plan, make_plan
from ._recommend import DEFAULT_MAX_ERROR_RATE, recommend
from ._report import QUALITY_METRICS, EndpointResult, EvalReport
from ._runner import CallResult, ProgressHook, Target, run_async, run_sync
from ._text import TextScorer, resolve_scorer

if TYPE_CHECKING:
    from .._async_client import AsyncClient
    from .._client import Client
    from .._endpoint import Endpoint

__all__ = ["DEFAULT_SCORER", "default_model", "evaluate", "evaluate_async", "select_endpoints"]

#: Chat models rarely answer with the bare reference, so generation is scored by ``contains``.
DEFAULT_SCORER = "contains"
_DEFAULT_GENERATION_PARAMS: dict[str, Any] = {"max_tokens": 32, "temperature": 0.0}


def select_endpoints(endpoints: Sequence[Endpoint], names: Sequence[str]) -> list[Endpoint]:
    """The endpoints called ``names``, in that order (all of them when ``names`` is empty)."""
    if not names:
        return list(endpoints)
    by_name = {e.name: e for e in endpoints}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ValueError(
            f"no endpoint named {', '.join(map(repr, unknown))}; known: {', '.join(by_name)}"
        )
    return [by_name[n] for n in dict.fromkeys(names)]


def default_model(endpoints: Sequence[Endpoint]) -> str:
    """The one public model name every endpoint's ``models`` map offers, if there is one."""
    offered = [set(e.models) for e in endpoints if e.models]
    if len(offered) == len(endpoints) and offered:
        common = set.intersection(*offered)
        if len(common) == 1:
            return next(iter(common))
    raise ValueError("give the model to evaluate (--model / model=): the endpoints do not name one")


def _target(endpoint: Endpoint) -> Target:
    price = endpoint.price
    prices = None
    if price is not None:
        prices = {k: float(v) for k, v in dataclasses.asdict(price).items() if v is not None}
    return Target(name=endpoint.name, provider=str(endpoint.provider), price=prices)


def _prepare(
    endpoints: Endpoint | Sequence[Endpoint],
    task: Task,
    data: str | Path | Dataset,
    limit: int | None,
    concurrency: int,
    batch_size: int,
    labels: Sequence[str] | None,
    label_map: Mapping[str, Mapping[str, str]] | None,
    scorer: str | TextScorer | None,
) -> tuple[list[Endpoint], Dataset, Callable[[str], Plan]]:
    chosen = [endpoints] if not isinstance(endpoints, Sequence) else list(endpoints)
    if not chosen:
        raise ValueError("no endpoints to evaluate")
    names = [e.name for e in chosen]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"endpoint names must be unique: {', '.join(duplicates)}")
    unknown = sorted(set(label_map or {}) - set(names))
    if unknown:
        raise ValueError(f"label_map names unknown endpoint(s): {', '.join(unknown)}")
    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, got {concurrency}")
    dataset = data if isinstance(data, Dataset) else load_dataset(data, task=task, labels=labels)
    if dataset.task != task:
        raise ValueError(f"the dataset was loaded for {dataset.task!r}, not {task!r}")
    dataset = dataset.limited(limit)
    resolved = None
    if task in ("chat", "complete"):
        resolved = resolve_scorer(scorer if scorer is not None else DEFAULT_SCORER)

    def plan(name: str) -> Plan:
        return make_plan(
            dataset,
            batch_size=batch_size,
            label_map=(label_map or {}).get(name, {}),
            labels=labels,
            scorer=resolved,
        )

    return chosen, dataset, plan


def _report(
    task: Task,
    model: str,
    dataset: Dataset,
    concurrency: int,
    results: list[EndpointResult],
    min_quality: float | None,
    max_p95_ms: float | None,
    max_error_rate: float,
) -> EvalReport:
    metric = QUALITY_METRICS[task]
    if task == "embed" and not any(r.metrics.get("retrieval") for r in results):
        metric = "spearman"
    return EvalReport(
        task=task,
        model=model,
        data=dataset.path,
        items=len(dataset),
        concurrency=concurrency,
        quality_metric=metric,
        max_error_rate=max_error_rate,
        created_at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        endpoints=results,
        recommendations=recommend(
            results, min_quality=min_quality, max_p95_ms=max_p95_ms, max_error_rate=max_error_rate
        ),
    )


def _usage(response: Any) -> dict[str, Any]:
    usage = getattr(response, "usage", None)
    if usage is None:
        return {}
    cost = getattr(usage, "cost", None)
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "cost": float(cost) if cost is not None else None,
    }


def _ledger(client: Client | AsyncClient) -> Callable[[], tuple[int, int, float]]:
    def totals() -> tuple[int, int, float]:
        usage = client.usage()
        return usage.prompt_tokens, usage.completion_tokens, usage.cost

    return totals


def _sender(
    client: Client, task: Task, model: str, params: Mapping[str, Any]
) -> Callable[[list[str]], CallResult]:
    def send(inputs: list[str]) -> CallResult:
        if task == "classify":
            r = client.classify(model=model, input=inputs, **params)
            return CallResult([x.label for x in r.results], **_usage(r))
        if task == "embed":
            e = client.embed(model=model, input=inputs, **params)
            return CallResult(e.vectors, **_usage(e))
        if task == "chat":
            messages = [{"role": "user", "content": inputs[0]}]
            c = client.chat(model=model, messages=messages, **params)
            return CallResult([c.text], **_usage(c))
        g = client.complete(model=model, prompt=inputs[0], **params)
        return CallResult([g.text], **_usage(g))

    return send


def _async_sender(client: AsyncClient, task: Task, model: str, params: Mapping[str, Any]) -> Any:
    async def send(inputs: list[str]) -> CallResult:
        if task == "classify":
            r = await client.classify(model=model, input=inputs, **params)
            return CallResult([x.label for x in r.results], **_usage(r))
        if task == "embed":
            e = await client.embed(model=model, input=inputs, **params)
            return CallResult(e.vectors, **_usage(e))
        if task == "chat":
            messages = [{"role": "user", "content": inputs[0]}]
            c = await client.chat(model=model, messages=messages, **params)
            return CallResult([c.text], **_usage(c))
        g = await client.complete(model=model, prompt=inputs[0], **params)
        return CallResult([g.text], **_usage(g))

    return send


# A router's choices do not apply to a client of one endpoint; a min_quality floor would even
# refuse the endpoint whose quality is being measured.
_ROUTING_OPTIONS = ("routing", "min_quality")


def _client_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    chosen = {k: v for k, v in (options or {}).items() if k not in _ROUTING_OPTIONS}
    # Every call is measured: a breaker that opened would turn the rest into instant refusals.
    chosen.setdefault("breaker", None)
    return chosen


def _params(task: Task, params: Mapping[str, Any] | None) -> dict[str, Any]:
    defaults = _DEFAULT_GENERATION_PARAMS if task in ("chat", "complete") else {}
    return {**defaults, **(params or {})}


def evaluate(
    endpoints: Endpoint | Sequence[Endpoint],
    *,
    task: Task,
    data: str | Path | Dataset,
    model: str,
    concurrency: int = 4,
    limit: int | None = None,
    batch_size: int = 1,
    labels: Sequence[str] | None = None,
    label_map: Mapping[str, Mapping[str, str]] | None = None,
    scorer: str | TextScorer | None = None,
    params: Mapping[str, Any] | None = None,
    min_quality: float | None = None,
    max_p95_ms: float | None = None,
    max_error_rate: float = DEFAULT_MAX_ERROR_RATE,
    stop_after_failures: int | None = 10,
    progress: ProgressHook | None = None,
    client_options: Mapping[str, Any] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> EvalReport:
    """Measure each endpoint on ``data`` for ``task`` and return the report.

    Parameters:

    * ``endpoints``: ``maaskit.Endpoint`` objects, evaluated one after another (each through
      its own ``Client(endpoints=[endpoint], **client_options)``, so no fallback hides a
      failure).
    * ``task``: ``"classify"``, ``"embed"``, ``"chat"`` or ``"complete"``.
    * ``data``: a ``.jsonl`` / ``.csv`` path (see :func:`load_dataset`) or a loaded ``Dataset``.
    * ``model``: the public model name; each endpoint's ``models`` map translates it.
    * ``concurrency``: requests in flight per endpoint (throughput is measured at it).
    * ``limit``: evaluate the first ``limit`` rows only.
    * ``batch_size``: inputs per classify / embed request (generation sends one prompt each).
    * ``labels``: the allowed classification labels (data rows outside them are an error), in
      the order the confusion matrix shows them; default the data's labels, sorted.
    * ``label_map``: per endpoint name, the endpoint's label → the data's label.
    * ``scorer``: for chat / complete, ``"exact"``, ``"normalized"``, ``"contains"``
      (default), ``"regex"``, ``"module:function"`` or a callable ``(prediction, reference)
      -> float in [0, 1]``.
    * ``params``: extra request parameters (generation defaults: ``max_tokens=32``,
      ``temperature=0``).
    * ``min_quality`` / ``max_p95_ms``: bounds of the ``best_value`` recommendation.
    * ``max_error_rate``: endpoints failing more calls than this are never recommended.
    * ``stop_after_failures``: stop sending to an endpoint whose first N calls all failed
      (``None``: send everything).
    * ``progress``: a :class:`ProgressHook` (``RichProgress()`` draws a bar per endpoint).
    * ``client_options``: keywords for each endpoint's client (``max_retries``, ``timeout``…;
      ``routing`` and ``min_quality`` are dropped, and the circuit breaker is off unless
      ``breaker=`` is given, so that every item is sent and measured).
    * ``clock``: the monotonic clock latencies are measured with (seconds).

    An endpoint that fails is reported with its error rate and failure kinds; it never stops
    the others. Bad data raises :class:`DataError` and a bad scorer :class:`ScorerError`
    before any call is sent.
    """
    from .._client import Client

    chosen, dataset, plan = _prepare(
        endpoints, task, data, limit, concurrency, batch_size, labels, label_map, scorer
    )
    results = []
    for endpoint in chosen:
        with Client(endpoints=[endpoint], **_client_options(client_options)) as client:
            send = _sender(client, task, model, _params(task, params))
            results.append(
                run_sync(
                    _target(endpoint),
                    plan(endpoint.name),
                    send,
                    concurrency=concurrency,
                    clock=clock,
                    progress=progress,
                    stop_after_failures=stop_after_failures,
                    ledger=_ledger(client),
                )
            )
    return _report(
        task, model, dataset, concurrency, results, min_quality, max_p95_ms, max_error_rate
    )


async def evaluate_async(
    endpoints: Endpoint | Sequence[Endpoint],
    *,
    task: Task,
    data: str | Path | Dataset,
    model: str,
    concurrency: int = 4,
    limit: int | None = None,
    batch_size: int = 1,
    labels: Sequence[str] | None = None,
    label_map: Mapping[str, Mapping[str, str]] | None = None,
    scorer: str | TextScorer | None = None,
    params: Mapping[str, Any] | None = None,
    min_quality: float | None = None,
    max_p95_ms: float | None = None,
    max_error_rate: float = DEFAULT_MAX_ERROR_RATE,
    stop_after_failures: int | None = 10,
    progress: ProgressHook | None = None,
    client_options: Mapping[str, Any] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> EvalReport:
    """:func:`evaluate` on ``maaskit.AsyncClient`` (same parameters, same report)."""
    from .._async_client import AsyncClient

    chosen, dataset, plan = _prepare(
        endpoints, task, data, limit, concurrency, batch_size, labels, label_map, scorer
    )
    results = []
    for endpoint in chosen:
        async with AsyncClient(endpoints=[endpoint], **_client_options(client_options)) as client:
            send = _async_sender(client, task, model, _params(task, params))
            results.append(
                await run_async(
                    _target(endpoint),
                    plan(endpoint.name),
                    send,
                    concurrency=concurrency,
                    clock=clock,
                    progress=progress,
                    stop_after_failures=stop_after_failures,
                    ledger=_ledger(client),
                )
            )
    return _report(
        task, model, dataset, concurrency, results, min_quality, max_p95_ms, max_error_rate
    )
