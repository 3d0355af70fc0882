"""Raw Open Inference Protocol (KServe v2) tensors: what ``infer()`` sends and returns.

numpy is optional: inputs can be nested lists (their datatype inferred, or given), numpy
arrays, or :class:`InferInput`\\ s; ``InferResponse.as_numpy`` needs numpy, everything else
works without it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .._exceptions import InvalidRequestError, InvalidRequestTypeError
from ._common import Result

__all__ = [
    "DATATYPES",
    "Datatype",
    "InferInput",
    "InferOutput",
    "InferRequest",
    "InferResponse",
    "RequestedOutput",
]

Datatype = Literal[
    "BOOL",
    "UINT8",
    "UINT16",
    "UINT32",
    "UINT64",
    "INT8",
    "INT16",
    "INT32",
    "INT64",
    "FP16",
    "FP32",
    "FP64",
    "BYTES",
]
DATATYPES: tuple[str, ...] = get_args(Datatype)

# numpy dtype names ↔ v2 datatypes (``BYTES`` is numpy's object, str or bytes arrays).
_FROM_NUMPY = {
    "bool": "BOOL",
    "uint8": "UINT8",
    "uint16": "UINT16",
    "uint32": "UINT32",
    "uint64": "UINT64",
    "int8": "INT8",
    "int16": "INT16",
    "int32": "INT32",
    "int64": "INT64",
    "float16": "FP16",
    "float32": "FP32",
    "float64": "FP64",
}
_TO_NUMPY = {datatype: name for name, datatype in _FROM_NUMPY.items()}
_INTEGERS = {"UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64"}
_FLOATS = {"FP16", "FP32", "FP64"}


def _numpy() -> Any:
    try:
        import numpy
    except ImportError:  # pragma: no cover - numpy is installed wherever the tests run
        raise ImportError("as_numpy() needs numpy: pip install numpy") from None
    return numpy


def _shape_and_flat(value: Any) -> tuple[list[int], list[Any]]:
    """The shape of a nested list (rectangular) and its elements in row-major order."""
    if not isinstance(value, (list, tuple)):
        return [], [value]
    shape = [len(value)]
    flat: list[Any] = []
    rows: list[Any] = list(value)
    while rows and all(isinstance(row, (list, tuple)) for row in rows):
        widths = {len(row) for row in rows}
        if len(widths) != 1:
            raise ValueError("a nested list tensor must be rectangular (rows of equal length)")
        shape.append(widths.pop())
        rows = [item for row in rows for item in row]
    if any(isinstance(row, (list, tuple)) for row in rows):
        raise ValueError("a nested list tensor must be rectangular (rows of equal depth)")
    flat = rows
    return shape, flat


def _guess_datatype(name: str, flat: list[Any]) -> str:
    if not flat:
        raise ValueError(f"input {name!r} is empty: give its datatype with InferInput")
    if all(isinstance(x, bool) for x in flat):
        return "BOOL"
    if all(isinstance(x, int) and not isinstance(x, bool) for x in flat):
        return "INT64"
    if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in flat):
        return "FP32"
    if all(isinstance(x, (str, bytes)) for x in flat):
        return "BYTES"
    raise TypeError(
        f"input {name!r} mixes element types; give an InferInput with an explicit datatype"
    )


def _check_element(name: str, datatype: str, index: int, value: Any) -> Any:
    def bad() -> TypeError:
        return TypeError(
            f"input {name!r} element {index} is {type(value).__name__} {value!r}, "
            f"which is not a {datatype} element"
        )

    if datatype == "BOOL":
        if not isinstance(value, bool):
            raise bad()
        return value
    if datatype in _INTEGERS:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad()
        if datatype.startswith("UINT") and value < 0:
            raise ValueError(f"input {name!r} element {index} is negative for {datatype}")
        return value
    if datatype in _FLOATS:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad()
        if not math.isfinite(value):
            # JSON has no NaN or infinity; the binary tensor extension would be needed.
            raise ValueError(f"input {name!r} element {index} is {value}, which JSON cannot carry")
        return value
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(
                f"input {name!r} element {index} is not UTF-8; JSON tensors carry text only"
            ) from None
    if not isinstance(value, str):
        raise bad()
    return value


class InferInput(BaseModel):
    """One input tensor of an ``infer()`` call.

    Parameters:
        name: The model's input name.
        datatype: ``"FP32"``, ``"INT64"``, ``"BYTES"``, ``"BOOL"``… (the v2 datatypes).
        shape: The tensor's dimensions, e.g. ``[1, 4]``.
        data: The elements, flat in row-major order or nested to the shape; ``BYTES``
            elements are ``str`` (or UTF-8 ``bytes``).
        parameters: The input's own ``parameters`` object, if the server wants one.

    ``InferInput.of(name, value)`` builds one from a numpy array or a nested list.
    """

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1)
    datatype: Datatype
    shape: list[int]
    data: list[Any]
    parameters: dict[str, Any] = Field(default_factory=dict)

    @field_validator("shape")
    @classmethod
    def _shape(cls, shape: list[int]) -> list[int]:
        if any(isinstance(d, bool) or d < 0 for d in shape):
            raise ValueError("shape must be non-negative ints")
        return shape

    @model_validator(mode="after")
    def _elements(self) -> InferInput:
        _, flat = _shape_and_flat(self.data)
        if len(flat) != math.prod(self.shape):
            raise ValueError(
                f"input {self.name!r} has {len(flat)} elements for shape {self.shape} "
                f"({math.prod(self.shape)} expected)"
            )
        checked = [_check_element(self.name, self.datatype, i, x) for i, x in enumerate(flat)]
        object.__setattr__(self, "data", checked)
        return self

    @classmethod
    def of(
        cls,
        name: str,
        value: Any,
        *,
        datatype: Datatype | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> InferInput:
        """An input from a numpy array (datatype from its dtype), a nested list (datatype
        inferred: ``BOOL``, ``INT64`` for ints, ``FP32`` for floats, ``BYTES`` for text, unless
        ``datatype`` says otherwise), or a scalar (shape ``[1]``)."""
        if isinstance(value, InferInput):
            return value
        chosen: str | None = datatype
        dtype = getattr(value, "dtype", None)
        if dtype is not None and hasattr(value, "tolist") and hasattr(value, "shape"):
            shape = [int(d) for d in value.shape]
            if chosen is None:
                kind = getattr(dtype, "kind", "")
                chosen = "BYTES" if kind in ("O", "U", "S") else _FROM_NUMPY.get(str(dtype))
                if chosen is None:
                    raise TypeError(f"input {name!r}: numpy dtype {dtype} has no v2 datatype")
            flat = value.reshape(-1).tolist()
        else:
            shape, flat = _shape_and_flat(value)
            if not shape:
                shape = [1]
            if chosen is None:
                chosen = _guess_datatype(name, flat)
        return cls.model_validate(
            {
                "name": name,
                "datatype": chosen,
                "shape": shape,
                "data": flat,
                "parameters": dict(parameters or {}),
            }
        )

    def to_json(self) -> dict[str, Any]:
        tensor: dict[str, Any] = {
            "name": self.name,
            "datatype": self.datatype,
            "shape": self.shape,
            "data": self.data,
        }
        if self.parameters:
            tensor["parameters"] = self.parameters
        return tensor


class RequestedOutput(BaseModel):
    """An output asked for by name.

    Parameters:
        name: The model's output name.
        binary_data: Ask for it in Triton's binary tensor format (``True``), as JSON
            (``False``), or as the call's ``binary_data`` says (``None``).
        parameters: More of the output's ``parameters`` (e.g. Triton's ``classification``).
    """

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1)
    binary_data: bool | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)

    def to_json(self, binary_default: bool) -> dict[str, Any]:
        parameters = dict(self.parameters)
        binary = binary_default if self.binary_data is None else self.binary_data
        if binary:
            parameters["binary_data"] = True
        return {"name": self.name, **({"parameters": parameters} if parameters else {})}


class InferRequest(BaseModel):
    """The neutral form of an ``infer()`` call (built by the client, sent by a provider)."""

    model: str
    inputs: list[InferInput]
    outputs: list[RequestedOutput] = Field(default_factory=list)
    parameters: dict[str, Any] = Field(default_factory=dict)
    model_version: str | None = None
    id: str | None = None
    binary_data: bool = False
    binary_inputs: bool = False


def tensor_rows(shape: Sequence[int], data: Sequence[Any]) -> list[list[Any]]:
    """A flat row-major ``[n, …]`` tensor as n flat rows; a 1-D tensor is one row."""
    if len(shape) <= 1:
        return [list(data)]
    width = math.prod(shape[1:])
    return [list(data[i : i + width]) for i in range(0, len(data), width)] if width else []


def tensor_texts(data: Sequence[Any]) -> list[str]:
    """A ``BYTES`` tensor's elements as UTF-8 text."""
    return [x.decode("utf-8") if isinstance(x, bytes) else str(x) for x in data]


class InferOutput(BaseModel):
    """One output tensor: ``data`` flat in row-major order (``BYTES`` elements as ``bytes``,
    whether the answer was JSON or binary)."""

    name: str
    datatype: str
    shape: list[int]
    data: list[Any]
    parameters: dict[str, Any] = Field(default_factory=dict)

    def rows(self) -> list[list[Any]]:
        """A ``[n, …]`` tensor as n flat rows; a 1-D tensor is one row."""
        return tensor_rows(self.shape, self.data)

    def texts(self) -> list[str]:
        """A ``BYTES`` tensor's elements as UTF-8 text."""
        return tensor_texts(self.data)

    def as_numpy(self) -> Any:
        """The tensor as a numpy array of its shape (``BYTES``: an object array of ``bytes``,
        as tritonclient gives). Needs numpy."""
        np = _numpy()
        if self.datatype == "BYTES":
            array = np.empty(len(self.data), dtype=object)
            array[:] = self.data
            return array.reshape(self.shape)
        dtype = _TO_NUMPY.get(self.datatype)
        if dtype is None:
            raise ValueError(f"output {self.name!r} has datatype {self.datatype!r}, not numeric")
        return np.asarray(self.data, dtype=dtype).reshape(self.shape)


class InferResponse(Result):
    """The answer of ``infer()``: the outputs in the server's order, by name with
    ``response["name"]`` / ``response.output("name")``."""

    model_name: str | None = None
    model_version: str | None = None
    id: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    outputs: list[InferOutput]

    @property
    def names(self) -> list[str]:
        return [output.name for output in self.outputs]

    def output(self, name: str) -> InferOutput:
        """The output called ``name``; ``KeyError`` naming the outputs there are."""
        for output in self.outputs:
            if output.name == name:
                return output
        raise KeyError(f"no output {name!r} in the answer (outputs: {', '.join(self.names)})")

    def __getitem__(self, name: str) -> InferOutput:
        return self.output(name)

    def __contains__(self, name: object) -> bool:
        return any(output.name == name for output in self.outputs)

    def as_numpy(self, name: str) -> Any:
        """Output ``name`` as a numpy array (see :meth:`InferOutput.as_numpy`)."""
        return self.output(name).as_numpy()


def _input_of(name: str, value: Any) -> InferInput:
    """``InferInput.of`` with its refusals as the SDK's typed errors: the model's validators
    raise plain ``ValueError``/``TypeError`` (pydantic wraps the former), the call path
    raises the ``MaaSError`` tree."""
    try:
        return InferInput.of(name, value)
    except ValidationError as exc:
        errors = exc.errors()
        cause = errors[0].get("ctx", {}).get("error") if errors else None
        raise InvalidRequestError(str(cause) if cause else str(exc)) from None
    except TypeError as exc:
        raise InvalidRequestTypeError(str(exc)) from None
    except ValueError as exc:
        raise InvalidRequestError(str(exc)) from None


def coerce_inputs(inputs: Any) -> list[InferInput]:
    """``infer(inputs=...)``: a mapping name → array/list, or a sequence of InferInputs."""
    if isinstance(inputs, Mapping):
        items = [_input_of(str(name), value) for name, value in inputs.items()]
    elif isinstance(inputs, Sequence) and not isinstance(inputs, (str, bytes)):
        if not all(isinstance(item, InferInput) for item in inputs):
            raise InvalidRequestTypeError(
                "inputs must be a mapping of name to array, or a list of InferInput"
            )
        items = list(inputs)
    else:
        raise InvalidRequestTypeError(
            "inputs must be a mapping of name to array, or a list of InferInput"
        )
    if not items:
        raise InvalidRequestError("inputs must not be empty")
    names = [item.name for item in items]
    if len(set(names)) != len(names):
        raise InvalidRequestError(f"input names must be unique, got {names}")
    return items


def coerce_outputs(outputs: Any) -> list[RequestedOutput]:
    if outputs is None:
        return []
    if isinstance(outputs, (str, bytes)) or not isinstance(outputs, Sequence):
        raise InvalidRequestTypeError("outputs must be a list of output names (or RequestedOutput)")
    wanted: list[RequestedOutput] = []
    for item in outputs:
        if isinstance(item, str):
            item = RequestedOutput(name=item)
        if not isinstance(item, RequestedOutput):
            raise InvalidRequestTypeError(
                "outputs must be a list of output names (or RequestedOutput)"
            )
        wanted.append(item)
    return wanted
