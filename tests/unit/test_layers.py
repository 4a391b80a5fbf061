"""The layers of app/ as docs/architecture.md draws them: imports only point down
(server → protocol → engine; server → diagnose → engine; the CLI on top), the engine uses no web framework,
pydantic or asyncio, and diagnose (the network-file reader and report) none either."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"
ENGINE_MAY_USE = {"torch", "numpy", "sklearn", "__future__", "collections", "dataclasses", "math", "typing",
                  "csv", "hashlib", "io", "re", "pathlib"}  # the CSV reader's standard library (engine/csvread.py)
WEB = {"fastapi", "starlette", "pydantic", "asyncio", "uvicorn", "websockets", "jinja2", "anyio"}


def imports(path: Path) -> set[str]:
    """Absolute module names a file imports (relative imports resolved against its package)."""
    package = path.relative_to(APP.parent).with_suffix("").parts[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            out.add(module)
            if not node.module:  # from . import x: x may be a module
                out |= {f"{module}.{alias.name}" for alias in node.names}
    return out


def modules(layer: str) -> list[Path]:
    return sorted((APP / layer).glob("*.py"))


def test_every_layer_has_modules() -> None:
    assert all(modules(layer) for layer in ("engine", "protocol", "server", "diagnose"))


@pytest.mark.parametrize("path", modules("engine"), ids=lambda p: p.name)
def test_the_engine_imports_only_torch_numpy_and_itself(path: Path) -> None:
    for name in imports(path):
        top = name.split(".")[0]
        assert top != "app" or name.startswith("app.engine"), f"{path.name} imports {name}"
        assert top in ENGINE_MAY_USE or top == "app", f"{path.name} imports {name}"
        assert top not in WEB


@pytest.mark.parametrize("path", modules("protocol"), ids=lambda p: p.name)
def test_the_protocol_does_not_import_the_server(path: Path) -> None:
    assert not any(name.startswith(("app.server", "fastapi", "starlette")) for name in imports(path)), path.name


@pytest.mark.parametrize("path", modules("diagnose"), ids=lambda p: p.name)
def test_diagnose_sits_on_the_engine_without_the_server_or_a_web_framework(path: Path) -> None:
    for name in imports(path):
        assert not name.startswith(("app.server", "app.protocol")), f"{path.name} imports {name}"
        assert name.split(".")[0] not in WEB - {"jinja2"}, f"{path.name} imports {name}"
        assert not name.startswith(("pickle", "torch.load")), f"{path.name} imports {name}"


def test_the_checker_sees_relative_imports() -> None:
    assert "app.engine.config" in imports(APP / "engine" / "session.py")
    assert "app.engine.session" in imports(APP / "protocol" / "frames.py")


@pytest.mark.parametrize("path", modules("lessons"), ids=lambda p: p.name)
def test_lessons_sit_on_the_engine_only(path: Path) -> None:
    """Lessons are data checked against the engine's limits: no server, protocol or web framework in them."""
    for name in imports(path):
        assert not name.startswith(("app.server", "app.protocol")), f"{path.name} imports {name}"
        assert name.split(".")[0] not in WEB, f"{path.name} imports {name}"
