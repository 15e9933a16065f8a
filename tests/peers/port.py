"""Run a peer library's own shipped test files against genmodels' drop-ins.

    python tests/peers/port.py PEER [pytest args...]

loads ``tests/peers/<PEER>_rules.py``, which defines

``PACKAGE``
    the installed peer package whose tests are run (``"sklearn"``, ``"hmmlearn"``);
``FILES``
    the files to copy, relative to the installed package (test files, and the
    ``conftest.py`` / ``__init__.py`` files they need);
``REWRITES``
    ``(regex, replacement)`` pairs applied, with ``re.sub``, to the import statements of
    each copied file and to nothing else (found with ``ast``, so an import inside a
    function is rewritten too and a string that looks like one is not);
``EXCEPTIONS``
    ``{node-id pattern: reason}``: the tests not run, each with why (only those that call
    the peer's private functions or depend on its random stream). A pattern is a node id
    relative to the package (``"tests/test_x.py::test_y[a-1]"``), or one without the
    parameters (``"tests/test_x.py::test_y"``, every parametrisation), or a prefix ending
    in ``*``. A pattern that matches no collected test is an error on a full run (so the
    list cannot go stale);

and optionally ``PYTEST_ARGS`` (extra pytest options, e.g. ``["-p", "no:randomly"]``).

The files are copied from the installed peer into a temporary directory at run time
(nothing of the peer's is committed), under a package of their own (``port_<PEER>/``,
with an empty ``__init__.py`` in every directory that has none of the peer's), so
relative imports between them work and their module names clash with nothing. pytest
runs there with the repository root first on ``sys.path`` (this checkout's genmodels),
the exceptions deselected; the counts are printed and the exit status is non-zero on any
failure, on an error, or when no test ran. Extra arguments go to pytest (``-k EXPR``,
``-x``, ``-q``, ...); with any given, stale exception patterns are only reported.
Set ``PORT_KEEP=1`` to keep (and print) the temporary directory.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import re
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


def load_rules(peer: str):
    path = HERE / f"{peer}_rules.py"
    if not path.is_file():
        known = sorted(p.name[: -len("_rules.py")] for p in HERE.glob("*_rules.py"))
        raise SystemExit(f"port.py: no rules for peer {peer!r} ({path}); known: {known}")
    spec = importlib.util.spec_from_file_location(f"{peer}_rules", path)
    rules = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rules)
    for name in ("PACKAGE", "FILES", "REWRITES", "EXCEPTIONS"):
        if not hasattr(rules, name):
            raise SystemExit(f"port.py: {path.name} does not define {name}")
    return rules


def rewrite_imports(source: str, rewrites) -> tuple[str, int]:
    """``source`` with each of ``rewrites`` applied to its import statements only, and the
    number of substitutions made."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    spans = sorted(
        (node.lineno, node.end_lineno)
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
    )
    count = 0
    for start, end in reversed(spans):
        text = "".join(lines[start - 1 : end])
        for pattern, replacement in rewrites:
            text, n = re.subn(pattern, replacement, text, flags=re.MULTILINE)
            count += n
        lines[start - 1 : end] = [text]
    return "".join(lines), count


def copy_suite(rules, dest: Path) -> Path:
    """Copy the peer's FILES under ``dest/port_<PEER>/``, imports rewritten; the root."""
    package = importlib.import_module(rules.PACKAGE)
    src_root = Path(package.__file__).resolve().parent
    root = dest / f"port_{rules.PACKAGE}"
    root.mkdir()
    rewritten = 0
    for rel in rules.FILES:
        src = src_root / rel
        if not src.is_file():
            raise SystemExit(f"port.py: {rules.PACKAGE} {package.__version__} has no {rel}")
        out = root / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        text, n = rewrite_imports(src.read_text(encoding="utf-8"), rules.REWRITES)
        rewritten += n
        out.write_text(text, encoding="utf-8")
    for folder in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        init = folder / "__init__.py"
        if not init.exists():
            init.write_text("", encoding="utf-8")
    (root / "pytest.ini").write_text("[pytest]\naddopts =\n", encoding="utf-8")
    print(
        f"port.py: {len(rules.FILES)} file(s) of {rules.PACKAGE} {package.__version__} "
        f"copied to {root}, {rewritten} import(s) rewritten"
    )
    return root


def matches(pattern: str, nodeid: str) -> bool:
    if pattern.endswith("*"):
        return nodeid.startswith(pattern[:-1])
    return nodeid == pattern or nodeid.split("[", 1)[0] == pattern


class Exceptions:
    """pytest plugin: deselects the EXCEPTIONS and counts the outcomes."""

    def __init__(self, exceptions: dict[str, str]):
        self.exceptions = exceptions
        self.used: set[str] = set()
        self.deselected: list[str] = []
        self.outcomes: Counter[str] = Counter()
        self.per_file: dict[str, Counter[str]] = {}

    def pytest_collection_modifyitems(self, config, items):
        keep, drop = [], []
        for item in items:
            hit = [p for p in self.exceptions if matches(p, item.nodeid)]
            self.used.update(hit)
            (drop if hit else keep).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            self.deselected = [item.nodeid for item in drop]
        items[:] = keep

    def pytest_runtest_logreport(self, report):
        if report.when == "call" or report.outcome != "passed":
            if hasattr(report, "wasxfail"):
                outcome = "xpassed" if report.passed else "xfailed"
            elif report.when != "call" and report.outcome == "failed":
                outcome = "error"
            else:
                outcome = report.outcome
            self.outcomes[outcome] += 1
            path = report.nodeid.split("::", 1)[0]
            self.per_file.setdefault(path, Counter())[outcome] += 1

    def stale(self) -> list[str]:
        return [p for p in self.exceptions if p not in self.used]


def main(argv: list[str]) -> int:
    if not argv or argv[0].startswith("-"):
        print(__doc__)
        return 2
    peer, extra = argv[0], argv[1:]
    rules = load_rules(peer)
    sys.path.insert(0, str(REPO))  # this checkout's genmodels, whatever is installed
    import pytest

    keep = os.environ.get("PORT_KEEP") == "1"
    tmp = tempfile.mkdtemp(prefix=f"genmodels-port-{peer}-")
    try:
        root = copy_suite(rules, Path(tmp))
        plugin = Exceptions(dict(rules.EXCEPTIONS))
        tests = [rel for rel in rules.FILES if Path(rel).name.startswith("test_")]
        args = [
            "-c",
            str(root / "pytest.ini"),
            "--rootdir",
            str(root),
            "-p",
            "no:cacheprovider",
            *getattr(rules, "PYTEST_ARGS", []),
            *extra,
            *(str(root / rel) for rel in tests),
        ]
        cwd = os.getcwd()
        os.chdir(root)
        try:
            code = int(pytest.main(args, plugins=[plugin]))
        finally:
            os.chdir(cwd)
    finally:
        if keep:
            print(f"port.py: kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    for path, pc in sorted(plugin.per_file.items()):
        n = sum(pc[k] for k in ("passed", "failed", "error"))
        print(f"port.py: {path}: {pc['passed']}/{n} passed ({pc['skipped']} skipped)")
    c = plugin.outcomes
    ran = c["passed"] + c["failed"] + c["error"]
    print(
        f"port.py: {peer}: {c['passed']} passed, {c['failed']} failed, {c['error']} errors, "
        f"{c['skipped']} skipped, {c['xfailed']} xfailed, {c['xpassed']} xpassed, "
        f"{len(plugin.deselected)} deselected as exceptions"
    )
    stale = plugin.stale()
    if stale:
        print(f"port.py: exception pattern(s) matching no test: {stale}")
        if not extra:
            code = code or 1
    if ran == 0 and code == 0:
        print("port.py: no test ran")
        code = 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
