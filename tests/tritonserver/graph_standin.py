"""Stand-in for Triton's onnxruntime backend in the ensemble test: the nvidia-pytriton wheel has
the Python backend only, so the ensemble's ``{m}_onnx`` step runs its ``model.onnx`` with
onnxruntime in a Python model taking and giving exactly the tensors its config declares.

Copied as ``{m}_onnx/1/model.py`` by ``conftest``; never imported by the tests themselves.
"""

from __future__ import annotations

import json
import os
from typing import Any

import onnxruntime as ort
import triton_python_backend_utils as pb_utils  # type: ignore[import-not-found]  # in Triton only


class TritonPythonModel:
    def initialize(self, args: dict[str, Any]) -> None:
        config = json.loads(args["model_config"])
        folder = os.path.join(args["model_repository"], args["model_version"])
        self.session = ort.InferenceSession(
            os.path.join(folder, "model.onnx"), providers=["CPUExecutionProvider"]
        )
        self.inputs = [item["name"] for item in config["input"]]
        self.outputs = [item["name"] for item in config["output"]]

    def execute(self, requests: list[Any]) -> list[Any]:
        responses = []
        for request in requests:
            feeds = {
                name: pb_utils.get_input_tensor_by_name(request, name).as_numpy()
                for name in self.inputs
            }
            results = self.session.run(self.outputs, feeds)
            tensors = [pb_utils.Tensor(n, r) for n, r in zip(self.outputs, results, strict=True)]
            responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
        return responses
