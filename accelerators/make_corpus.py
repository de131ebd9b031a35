"""Build the offline English text corpus for the small causal LM (``accelerators/data/corpus/``).

The text is the docstrings of the CPython standard library (modules, classes and
functions), read from the source files of the running interpreter with :mod:`ast`
(nothing is imported, so no module side effects). The committed corpus was made with
**CPython 3.11.7** (``/root/.pyenv/versions/3.11.7/lib/python3.11``); the version is
also written to ``corpus/SOURCE.txt``. Python's documentation and source are
distributed under the PSF License Agreement, which permits redistribution.

Determinism: files are visited in sorted path order, docstrings in source order,
each docstring is normalised with :func:`inspect.cleandoc`, kept only if it is mostly
ASCII English prose, and deduplicated by exact text. Whole *modules* are assigned to
the held-out split by a stable hash of the module name (CRC32 % 100 < ``HELDOUT_PCT``),
so the held-out text comes from modules never seen in training. The output is then
truncated at a docstring boundary to the byte budget.

Usage::

    /work/venv/bin/python accelerators/make_corpus.py            # writes data/corpus/
    /work/venv/bin/python accelerators/make_corpus.py --out DIR  # elsewhere
"""
from __future__ import annotations

import argparse
import ast
import inspect
import sys
import sysconfig
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "data" / "corpus"

#: Packages/modules skipped: tests, tooling with little prose, generated tables, vendored code.
SKIP_TOP = {
    "test", "idlelib", "lib2to3", "site-packages", "turtledemo", "ensurepip", "encodings",
    "pydoc_data", "distutils", "tkinter", "config-3.11-x86_64-linux-gnu", "lib-dynload",
    "__phello__", "__pycache__", "_sysconfigdata__linux_x86_64-linux-gnu", "this", "antigravity",
    "__hello__", "_pydecimal", "sre_constants", "stringprep", "opcode", "token", "keyword",
}
MAX_TOTAL_BYTES = 1_450_000  # train + heldout
HELDOUT_PCT = 7              # ~7 % of modules (by name hash) go to heldout
MIN_CHARS = 40               # drop one-liners shorter than this ("Return x.")


def _module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _docstrings(tree: ast.AST):
    """Docstrings of the module, classes and (async) functions, in source order."""
    nodes = [tree] + [n for n in ast.walk(tree)
                      if isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))]
    nodes.sort(key=lambda n: getattr(n, "lineno", 0))
    for n in nodes:
        doc = ast.get_docstring(n, clean=False)
        if doc:
            yield inspect.cleandoc(doc)


def _keep(doc: str) -> bool:
    if len(doc) < MIN_CHARS:
        return False
    ascii_frac = sum(c.isascii() for c in doc) / len(doc)
    alpha_frac = sum(c.isalpha() or c == " " for c in doc) / len(doc)
    return ascii_frac > 0.99 and alpha_frac > 0.7


def build(stdlib: Path) -> tuple[str, str]:
    seen: set[str] = set()
    train_docs: list[str] = []
    held_docs: list[str] = []
    files = sorted(p for p in stdlib.rglob("*.py"))
    for path in files:
        rel = path.relative_to(stdlib)
        if rel.parts[0] in SKIP_TOP or rel.with_suffix("").parts[0] in SKIP_TOP:
            continue
        if any(part in ("tests", "test", "__pycache__") for part in rel.parts):
            continue
        mod = _module_name(path, stdlib)
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except (SyntaxError, UnicodeDecodeError):
            continue
        held = zlib.crc32(mod.encode()) % 100 < HELDOUT_PCT
        for doc in _docstrings(tree):
            if doc in seen or not _keep(doc):
                continue
            seen.add(doc)
            (held_docs if held else train_docs).append(doc)
    # Interleave the budget: keep the same train/heldout proportion after truncation.
    total = sum(len(d) + 2 for d in train_docs + held_docs)
    frac = min(1.0, MAX_TOTAL_BYTES / total)

    def take(docs: list[str]) -> str:
        budget = int(frac * sum(len(d) + 2 for d in docs))
        out, n = [], 0
        for d in docs:
            if n + len(d) + 2 > budget:
                break
            out.append(d)
            n += len(d) + 2
        return "\n\n".join(out) + "\n"

    return take(train_docs), take(held_docs)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--stdlib", type=Path, default=Path(sysconfig.get_paths()["stdlib"]))
    args = ap.parse_args(argv)
    train, held = build(args.stdlib)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "train.txt").write_text(train, encoding="utf-8")
    (args.out / "heldout.txt").write_text(held, encoding="utf-8")
    ver = sys.version.split()[0]
    (args.out / "SOURCE.txt").write_text(
        "Docstrings of the CPython standard library, extracted by accelerators/make_corpus.py\n"
        f"from CPython {ver} ({sys.implementation.name}); licensed under the PSF License "
        "Agreement (redistribution permitted).\n"
        f"train.txt: {len(train.encode())} bytes; heldout.txt: {len(held.encode())} bytes "
        f"(modules with crc32(name) % 100 < {HELDOUT_PCT}).\n", encoding="utf-8")
    print(f"python {ver}: train {len(train.encode())} B, heldout {len(held.encode())} B "
          f"-> {args.out}")


if __name__ == "__main__":
    main()
