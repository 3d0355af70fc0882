"""The rooms of the server's protocols: no protocol imports another protocol's private module.

What protocols share lives in ``protocols/requests.py`` and ``protocols/generation_run.py``;
this walks every import statement of every module under ``protocols/`` (with ``ast``, so
imports inside functions count too) and resolves relative imports to module names.
"""

from __future__ import annotations

import ast
from pathlib import Path

import maaskit_server.protocols

PROTOCOLS = Path(maaskit_server.protocols.__file__).parent
PACKAGE = "maaskit_server.protocols"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PROTOCOLS).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([PACKAGE, *parts])


def imported_modules(path: Path) -> list[str]:
    """Every module an import statement of ``path`` names (``from x import y``: x and x.y)."""
    this = module_name(path)
    package = this if path.name == "__init__.py" else this.rsplit(".", 1)[0]
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            found.append(source)
            found.extend(f"{source}.{alias.name}" for alias in node.names)
    return found


def protocol_of(module: str) -> str | None:
    """``maaskit_server.protocols.hf.generate`` → ``hf``; shared top-level modules → None."""
    parts = module.split(".")
    if module.startswith(PACKAGE + ".") and len(parts) > 3:
        return parts[2]
    if module.startswith(PACKAGE + ".") and (PROTOCOLS / parts[2]).is_dir():
        return parts[2]
    return None


def is_private(module: str) -> bool:
    return any(part.startswith("_") and part != "__init__" for part in module.split(".")[3:])


def violations() -> list[str]:
    found = []
    for path in sorted(PROTOCOLS.rglob("*.py")):
        importer = module_name(path)
        home = protocol_of(importer)
        for imported in imported_modules(path):
            owner = protocol_of(imported)
            if owner is not None and owner != home and is_private(imported):
                found.append(f"{importer} imports {imported}")
    return found


def test_no_protocol_imports_another_protocols_private_module() -> None:
    assert violations() == []


# The one protocol that uses another's public module: TGI serves OpenAI's chat route under
# /models/{m}/v1/chat/completions, as TGI does.
ALLOWED_ACROSS = {("hf", f"{PACKAGE}.openai.chat")}


def test_protocols_share_through_the_shared_rooms_not_each_other() -> None:
    found = set()
    for path in sorted(PROTOCOLS.rglob("*.py")):
        home = protocol_of(module_name(path))
        for imported in imported_modules(path):
            owner = protocol_of(imported)
            if owner is not None and home is not None and owner != home:
                found.add((home, imported))
    # ``from ..openai.chat import x`` also names ``openai.chat.x``; only modules count here.
    modules = {
        (home, m)
        for home, m in found
        if (PROTOCOLS / Path(*m.split(".")[2:])).with_suffix(".py").exists()
    }
    assert modules == ALLOWED_ACROSS


def test_the_walk_sees_private_imports_inside_a_protocol() -> None:
    # The check is only as good as its walk: kserve's own private imports must be seen.
    infer = PROTOCOLS / "kserve" / "infer.py"
    assert f"{PACKAGE}.kserve._tensors" in imported_modules(infer)
    assert f"{PACKAGE}.requests" in imported_modules(PROTOCOLS / "hf" / "generate.py")
    assert protocol_of(f"{PACKAGE}.kserve._tensors") == "kserve"
    assert protocol_of(f"{PACKAGE}.requests") is None
    assert is_private(f"{PACKAGE}.openai._params")


def test_the_shared_rooms_import_no_protocol() -> None:
    for shared in ("requests.py", "generation_run.py", "recognition.py"):
        owners = {protocol_of(m) for m in imported_modules(PROTOCOLS / shared)}
        assert owners == {None}, shared
