"""The package's shape: no import circles, no import climbing a floor, no gankit import hidden in a function,
no module over 300 lines."""
import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import gankit

PACKAGE = Path(gankit.__file__).resolve().parent
MAX_LINES = 300


def modules() -> list[str]:
    """Every module of the package (``__main__`` runs the CLI when imported, so it is left out)."""
    return sorted(["gankit"] + [m.name for m in pkgutil.walk_packages([str(PACKAGE)], prefix="gankit.")
                                if not m.name.endswith("__main__")])


def sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _rel(path: Path) -> str:
    return str(path.relative_to(PACKAGE.parent))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_module_imports_first_in_a_fresh_interpreter_in_any_order(seed):
    """A module that is part of an import circle fails when the circle is entered from the wrong side."""
    code = (
        "import importlib, json, random, sys\n"
        f"names = {modules()!r}\n"
        f"random.Random({seed}).shuffle(names)\n"
        "failed = {}\n"
        "for name in names:\n"
        "    for mod in [m for m in sys.modules if m == 'gankit' or m.startswith('gankit.')]:\n"
        "        del sys.modules[mod]\n"  # each module first, as if nothing of gankit were imported yet
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as e:\n"
        "        failed[name] = f'{type(e).__name__}: {e}'\n"
        "print(json.dumps(failed))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                       cwd=PACKAGE.parent)
    assert r.returncode == 0, r.stderr[-3000:]
    failed = json.loads(r.stdout.strip().splitlines()[-1])
    assert failed == {}, "\n".join(f"{k}: {v}" for k, v in failed.items())


def _imports_in_functions(tree: ast.AST):
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            for node in ast.walk(fn):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    names = [("." * node.level) + (node.module or "")]
                else:
                    continue
                for name in names:
                    if name == "gankit" or name.startswith(("gankit.", ".")):
                        yield node.lineno, name


def test_no_gankit_import_inside_a_function():
    found = [f"{_rel(p)}:{line}: {name}" for p in sources()
             for line, name in _imports_in_functions(ast.parse(p.read_text(), str(p)))]
    assert found == [], "imports of gankit inside functions (move them to the module's top):\n" + "\n".join(found)


def test_no_module_over_300_lines():
    long = [f"{_rel(p)}: {n} lines" for p in sources() if (n := len(p.read_text().splitlines())) > MAX_LINES]
    assert long == [], f"modules over {MAX_LINES} lines (split them):\n" + "\n".join(long)


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _top_level_gankit_imports(path: Path, known: set[str]) -> set[str]:
    """The gankit modules a module imports when it is imported (module-level statements only)."""
    found = set()
    for node in ast.parse(path.read_text(), str(path)).body:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "gankit"}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "gankit":
            for a in node.names:  # `from gankit.x import y`: y is a module of its own or a name in gankit.x
                sub = f"{node.module}.{a.name}"
                found.add(sub if sub in known else node.module)
    return found


def test_the_import_graph_has_no_circle():
    """Static check of every module-level import: the modules form a DAG (a circle that happens to
    import without error today still fails here)."""
    paths = {_module_name(p): p for p in sources()}
    graph = {m: _top_level_gankit_imports(p, set(paths)) - {m} for m, p in paths.items()}
    state, stack = {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for n in sorted(graph.get(m, ())):
            if state.get(n) == "open":
                raise AssertionError("import circle: " + " → ".join(stack[stack.index(n):] + [n]))
            if n not in state:
                visit(n)
        stack.pop()
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m)


def _gankit_imports(path: Path, known: set[str]) -> set[str]:
    """Every gankit module a module imports, wherever the import statement is."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "gankit"}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "gankit":
            found |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in known else node.module
                      for a in node.names}
    return found


def _package(module: str) -> str:
    """The subpackage of a gankit module (``gankit.store.files`` → ``store``; ``gankit`` itself → "")."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


# importer's package → the packages it never imports (the floors of the house)
FORBIDDEN = {
    "runs": {"training"},
    "metrics": {"training"},
    "store": {"training"},
    "training": {"runs"},
    "config": {"models", "losses", "data", "training", "metrics"},
}
STORE_MAY_IMPORT = {"store", "errors"}  # the bottom floor: the run directory needs nothing else of gankit


def test_imports_respect_the_floors():
    """store/ imports nothing of gankit but errors; runs/, metrics/ and store/ never import training/;
    training/ never imports runs/; config/ imports none of models, losses, data, training, metrics."""
    paths = {_module_name(p): p for p in sources()}
    violations = set()
    for module, path in paths.items():
        importer = _package(module)
        for imported in _gankit_imports(path, set(paths)):
            target = _package(imported)
            if target in FORBIDDEN.get(importer, ()) or (importer == "store" and target not in STORE_MAY_IMPORT):
                violations.add(f"{module} -> {imported}")
    assert violations == set(), "imports that climb the floors:\n" + "\n".join(sorted(violations))
