"""The two distributions (sdk/: ``maaskit``, reference_server/: ``maaskit-server``) and the
repository root's development install agree, and the SDK's wheel carries only the SDK."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

import maaskit

ROOT = Path(__file__).resolve().parents[2]
SDK_WHEEL_LIMIT_BYTES = 1_000_000


def project(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))["project"]
    return data


ROOT_PROJECT = project(ROOT / "pyproject.toml")
SDK = project(ROOT / "sdk" / "pyproject.toml")
SERVER = project(ROOT / "reference_server" / "pyproject.toml")


def test_the_versions_agree_and_the_server_pins_its_sdk() -> None:
    assert ROOT_PROJECT["version"] == SDK["version"] == SERVER["version"] == maaskit.__version__
    assert f"maaskit=={SDK['version']}" in SERVER["dependencies"]
    assert SDK["optional-dependencies"]["server"] == [f"maaskit-server=={SERVER['version']}"]


def test_the_root_repeats_the_sdk_dependencies_and_the_server_extra_the_servers() -> None:
    extras = ROOT_PROJECT["optional-dependencies"]
    assert ROOT_PROJECT["dependencies"] == SDK["dependencies"], "copy to sdk/pyproject.toml"
    server = [d for d in SERVER["dependencies"] if not d.startswith("maaskit==")]
    assert extras["server"] == server, "copy to reference_server/pyproject.toml"
    for name in ("privacy", "eval", "testing", "aiohttp"):
        assert extras[name] == SDK["optional-dependencies"][name], f"sdk extra {name}"
    assert [d for d in extras["train"] if d != "maaskit[server]"] == SERVER[
        "optional-dependencies"
    ]["train"]
    assert extras["export"] == SERVER["optional-dependencies"]["export"]


def test_one_maaskit_command_and_one_plugin() -> None:
    assert ROOT_PROJECT["scripts"] == SDK["scripts"] == {"maaskit": "maaskit._cli:main"}
    assert "scripts" not in SERVER
    assert ROOT_PROJECT["entry-points"] == SDK["entry-points"]


def test_the_sdk_needs_none_of_the_servers_libraries() -> None:
    names = {re.split(r"[<>=;\[ ]", dependency)[0] for dependency in SDK["dependencies"]}
    assert names == {"httpx", "httpx-sse", "pydantic", "tenacity", "tomli"}


@pytest.fixture(scope="module")
def sdk_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("hatchling", reason="building needs hatchling (the dev extra)")
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"),
            *("--disable-pip-version-check", str(ROOT / "sdk"), "-w", str(out)),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = out.glob("maaskit-*.whl")
    return wheel


def test_the_sdk_wheel_is_small_and_holds_only_the_sdk(sdk_wheel: Path) -> None:
    assert sdk_wheel.stat().st_size < SDK_WHEEL_LIMIT_BYTES
    with zipfile.ZipFile(sdk_wheel) as wheel:
        names = wheel.namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"maaskit", f"maaskit-{maaskit.__version__}.dist-info"}
    assert "maaskit/_cli/__init__.py" in names
    assert "maaskit/py.typed" in names
    assert not [name for name in names if name.endswith(".onnx")]
