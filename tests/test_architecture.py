"""The house rules of the code base, read from the source with `ast` (nothing is imported).

- The core (worker/core/, worker/model.py) does no I/O: it imports no adapter of this
  project (sources, store, metrics, report, cli, kbtools, the disk cache, the decoders)
  and no library that reads or writes anything.
- No import cycles between the modules of `worker`, lazy imports inside functions included.
- README's architecture tree names every room of worker/, and nothing else.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "worker"

CORE = ("worker.core", "worker.model")
ADAPTERS = ("worker.sources", "worker.store", "worker.metrics", "worker.report", "worker.cli",
            "worker.kbtools", "worker.cache", "worker.decode")
IO_LIBRARIES = {"os", "io", "sys", "pathlib", "shutil", "tempfile", "subprocess", "socket",
                "http", "urllib", "gzip", "sqlite3", "logging", "threading", "signal",
                "yaml", "orjson", "msgspec", "kafka", "sqlalchemy", "psycopg", "prometheus_client",
                "pandas", "matplotlib", "tqdm"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, anywhere in it (absolute names)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def project_imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The project's modules a file imports (`from worker.x import y` names worker.x.y
    when y is a module, else worker.x)."""
    return {name for name in imports_of(path) if name in known and name != "worker"} | {
        name.rsplit(".", 1)[0] for name in imports_of(path)
        if name.startswith("worker.") and name not in known and name.rsplit(".", 1)[0] in known
        and name.rsplit(".", 1)[0] != "worker"}


def test_the_module_list_is_read() -> None:
    known = modules()
    assert "worker.core.pipeline" in known and "worker.sources.commit" in known
    assert "worker.store.store" in project_imports(known["worker.sources.commit"], known)


def test_the_core_imports_no_adapter_and_no_io_library() -> None:
    known = modules()
    problems = []
    for name, path in known.items():
        if not name.startswith(CORE):
            continue
        for imported in sorted(imports_of(path)):
            top = imported.split(".")[0]
            if imported.startswith(ADAPTERS) or top in IO_LIBRARIES:
                problems.append(f"{path.relative_to(ROOT)} imports {imported}")
    assert not problems, "\n".join(problems)


def test_there_are_no_import_cycles() -> None:
    known = modules()
    graph = {name: project_imports(path, known) - {name} for name, path in known.items()}
    cycles = []
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(path[path.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "\n".join(cycles)


def rooms() -> set[str]:
    """worker/'s subpackages (as `name/`) and top-level modules (as `name.py`)."""
    found = {f"{p.name}/" for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    found |= {p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py"}
    return found


def test_the_readme_tree_names_every_room() -> None:
    readme = (ROOT / "README.md").read_text()
    tree = readme.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"^ {4}  ([a-z_]+(?:/|\.py))", tree, re.M))
    assert named == rooms(), f"README lists {sorted(named)}; worker/ has {sorted(rooms())}"
