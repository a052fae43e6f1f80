"""Type-check the library with mypy (strict; settings in pyproject.toml's ``[tool.mypy]``).

The wheel maps folders to packages (pyproject.toml's ``package-dir``: ``engines/`` is
``hermitcrab.engines``), and mypy names modules after their paths, so it is given that layout: a tree
of symlinks under ``build/typecheck/``. Errors are reported with the repository's own paths
(``engines/_hugging.py:12: error: ...``). ``make typecheck`` runs it; ``make test`` too.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
TREE = ROOT / "build" / "typecheck"


def build_tree() -> None:
    """``build/typecheck/hermitcrab/...``: a symlink to every source file, where the wheel puts it."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    folders = setuptools.get("package-dir", {})
    shutil.rmtree(TREE, ignore_errors=True)
    for package in setuptools["packages"]:
        source = ROOT / folders.get(package, package.replace(".", "/"))
        files = [f for f in source.iterdir() if f.suffix in (".py", ".pyi") or f.name == "py.typed"]
        if not any(f.suffix == ".py" for f in files):
            continue  # a data-only package (the demo model's files)
        target = TREE.joinpath(*package.split("."))
        target.mkdir(parents=True, exist_ok=True)
        for file in files:
            (target / file.name).symlink_to(file)


def main() -> int:
    build_tree()
    env = {**os.environ, "MYPYPATH": str(TREE)}
    command = [
        sys.executable,
        "-m",
        "mypy",
        "--config-file",
        str(ROOT / "pyproject.toml"),
        "-p",
        "hermitcrab",
    ]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    tree = re.escape(str(TREE.relative_to(ROOT)) + os.sep)
    for line in (result.stdout + result.stderr).splitlines():
        match = re.match(rf"({tree}[^:]+)(:.*)", line)
        if match:  # a path in the symlink tree: show the file it points at
            line = os.path.relpath(os.path.realpath(ROOT / match.group(1)), ROOT) + match.group(2)
        print(line)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
