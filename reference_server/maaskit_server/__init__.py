"""maaskit's reference server: ONNX language models behind the MaaS protocols."""

__version__ = "0.1.0"
