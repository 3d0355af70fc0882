"""Hugging Face endpoints: the Inference API task payloads, TGI and TEI native routes.

``base_url`` is one model endpoint, as for ``huggingface_hub.InferenceClient(base_url=...)``:
Inference-API style calls are POSTed to the base URL itself, TGI/TEI routes are appended
(``base_url + "/generate"``). With ``HFProvider(model_in_path=True)`` the base URL is a prefix
and the ``model=`` of each call is appended first (``{base_url}/{model}/generate``).
Otherwise ``model=`` (still required by the client) is sent only in chat bodies, where TGI
ignores it.

Defaults (change them with ``provider=HFProvider(...)``):

=========  ====================================================  ===========================
task       request                                               answer
=========  ====================================================  ===========================
classify   ``POST {base}`` ``{"inputs": [...], "parameters"}``    ``[[{"label","score"}]]``
embed      ``POST {base}`` ``{"inputs": [...], "parameters"}``    ``[[float]]`` per input
complete   ``POST {base}/generate`` ``{"inputs", "parameters"}``   ``{"generated_text",
                                                                 "details"}``
stream     ``POST {base}/generate_stream`` (SSE)                 ``{"token": {...}, ...}``
chat       ``POST {base}/v1/chat/completions`` (OpenAI shape)    OpenAI chat shape
models     ``GET {base}/info``                                   ``{"model_id", ...}``
=========  ====================================================  ===========================

``"parameters"`` is sent only when the call has extra keywords. A flat classification list
``[{"label","score"}]`` is read as the labels of a single input. Token-level features
``[[[float]]]`` (a model without pooling) are mean-pooled over tokens into one vector per
input. ``classify_route="tei"`` uses TEI's ``POST /predict`` with ``{"inputs": [[text], ...]}``
(the batch form, so it is never read as a sentence pair) and ``embed_route="tei"`` TEI's
``POST /embed`` (``{"inputs": [...], "normalize"?, "truncate"?}``); their extra keywords go at
the top level of the body. ``complete_route="inference"`` POSTs the generation body with
``"stream"`` to the base URL (TGI's ``/`` and the serverless Inference API), answered by a
list ``[{"generated_text"}]`` or an object, or SSE when streaming.

Pointing it at a backend:

* **TGI** (``text-generation-launcher``): ``Client(provider="hf",
  base_url="http://127.0.0.1:8080")`` → complete, stream and chat work as is.
* **TEI** (``text-embeddings-router``): ``provider=HFProvider(embed_route="tei",
  classify_route="tei")`` with the TEI root as base URL.
* **Inference API / Inference Endpoints**: ``base_url`` is the model URL (e.g.
  ``https://router.huggingface.co/hf-inference/models/ORG/NAME``) and ``api_key=`` the HF
  token; use ``complete_route="inference"`` for generation there.
* **maaskit reference server**: ``base_url="http://127.0.0.1:8000/models/NAME"``, or
  ``HFProvider(model_in_path=True)`` with ``base_url="http://127.0.0.1:8000/models"``.

Errors: ``{"error": "…", "error_type": "…"}`` (TGI), ``{"error": "…"}`` or ``{"error":
["…"]}`` become the ``provider_message`` of the typed status error. While a model loads the
Inference API answers 503 with ``{"error": "… is currently loading", "estimated_time": 20.0}``:
that is retried, waiting ``estimated_time`` seconds (at most ``RetryPolicy.max_retry_after``).
Generation parameters are mapped by :func:`tgi_parameters`. ``complete`` takes one prompt.
"""

from ._provider import HFProvider, tgi_parameters

__all__ = ["HFProvider", "tgi_parameters"]
