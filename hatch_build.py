"""Refuses to build a wheel of the repository root, which is a development install only.

A wheel of the root would carry the SDK, the server and the default models as one ``maaskit``
distribution (48.6 MB), which is what ``pip install /path/to/maaskit`` built before the two
distributions existed. The editable install (``pip install -e .``) is allowed.
"""

from __future__ import annotations

from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class DevelopmentOnly(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name == "wheel" and version != "editable":
            raise RuntimeError(
                "the repository root is maaskit's development install (pip install -e "
                '".[dev]"); to install maaskit, install its distributions: '
                'pip install ./sdk (the SDK) or pip install "./sdk[server]" ./reference_server '
                "(SDK and server)"
            )
