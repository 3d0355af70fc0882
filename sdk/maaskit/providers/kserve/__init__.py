"""KServe v2 / Open Inference Protocol (Triton, KServe, MLServer, the maaskit server's /v2).

``base_url`` is the server root (no ``/v2``): ``Client(provider="kserve",
base_url="http://127.0.0.1:8000")``. Options: ``provider=KServeProvider(...)``.

Routes:

* classify, embed: ``POST /v2/models/{model}[/versions/{version}]/infer`` with one input
  tensor ``{"name": "text", "datatype": "BYTES", "shape": [n, 1], "data": [texts…]}`` (the
  batched layout a Triton model with dynamic batching needs); extra
  call keywords go into the request ``parameters`` (``model_version=`` picks the version
  path instead).
* complete: Triton's generate extension, ``POST /v2/models/{model}/generate``
  ``{"text_input", "parameters": {"max_tokens", ...}}`` → ``{"model_name", "text_output"}``;
  streaming ``POST .../generate_stream`` (``"stream": true`` added to ``parameters``) → SSE
  of ``{"text_output"}`` objects, each text a piece. One prompt per call; no finish reason.
* infer: ``client.infer(model=, inputs=, outputs=)`` sends any tensors (numeric ``FP32``,
  ``INT64``, ``BOOL``… or ``BYTES``) as JSON to ``…/infer`` and returns every output by name
  (:class:`maaskit.InferResponse`); ``outputs=["name", ...]`` asks for named outputs (with
  ``binary_data`` per output, or ``binary_data=True`` for all; ``binary_inputs=True`` sends
  the inputs as binary tensors after a JSON header), ``parameters=`` fills the request's
  ``parameters``.
* models: the repository extension ``POST /v2/repository/index`` ``{}`` →
  ``[{"name", "version", "state"}]`` (Triton, MLServer and the maaskit server have it; the v2
  protocol itself has no model list), every model listed whatever its state (``raw`` keeps
  it).
* chat: none (the v2 protocol has no chat); ``supports(CHAT)`` is false.
* ``health_request()`` / ``metadata_request()`` describe ``GET /v2/health/live|ready`` and
  ``GET /v2/models/{model}[/versions/{v}]`` for callers with their own HTTP client.

Tensor convention (names are options, defaults match the maaskit reference server):

* classification: ``probabilities`` FP32 ``[n, k]`` (required); ``label`` BYTES ``[n]`` or
  ``[n, 1]`` the predicted label per input (optional); ``labels`` BYTES ``[k]`` the class
  names in index order, or ``[n, k]`` with the same names in every row (optional; every output
  of a Triton model with dynamic batching has the batch dimension). Class names come from
  ``KServeProvider(labels=[...])``, else the ``labels`` output; without names ``scores`` is
  keyed by the top ``label`` alone when the answer has one, else by the class index as a
  string (``"0"``, ``"1"``…).
* embeddings: ``embedding`` FP32 ``[n, d]``.

Outputs are read from JSON ``data`` (flat or nested, row-major) or, when the answer has an
``Inference-Header-Content-Length`` header, from Triton's binary tensors
(``binary_output=True`` asks for them with ``"binary_data_output": true``). Errors:
``{"error": "…"}`` (Triton, KServe, MLServer) and FastAPI's 422 ``{"detail": [{"loc", "msg"}]}``
(MLServer's validation) are the ``provider_message`` of the typed status error.

Pointing it at a backend: Triton's HTTP port (8000) as is; KServe's ``InferenceService``
URL (``http://NAME.NAMESPACE.example.com``); MLServer's HTTP port (8080: ``infer`` for any
model, ``models`` from its repository index, classify and embed for text models with the
tensor convention above; MLServer has no generate extension).
"""

from ._provider import KServeProvider
from ._tensors import Tensor, decode_binary, encode_bytes, parse_outputs

__all__ = ["KServeProvider", "Tensor", "decode_binary", "encode_bytes", "parse_outputs"]
