"""Build the tutorial notebooks in notebooks/ from their sources in scripts/tutorials/.

Each source is a Python file in "percent" format: ``# %%`` starts a code cell and
``# %% [markdown]`` a markdown cell whose lines are comments. In code cells, IPython magics
are written commented out (``# %load_ext x``, ``# %%concurrent ...``) so the source stays
Python; they are uncommented in the notebook. The notebooks are written without
outputs, with stable cell ids, so building twice gives the same files.

    .venv/bin/python scripts/build_notebooks.py           # write notebooks/*.ipynb
    .venv/bin/python scripts/build_notebooks.py --check   # exit 1 if any is out of date
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "scripts" / "tutorials"
NOTEBOOKS = ROOT / "notebooks"
CELL_MARKER = re.compile(r"^# %%( |$)")
MAGIC = re.compile(r"^# (%{1,2}[A-Za-z])")
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def cells_of(source: str) -> list[tuple[str, str]]:
    """``(kind, text)`` for each cell of a percent-format source."""
    cells: list[tuple[str, list[str]]] = []
    for line in source.splitlines():
        if CELL_MARKER.match(line):
            cells.append(("markdown" if "[markdown]" in line else "code", []))
        elif cells:
            cells[-1][1].append(line)
    out = []
    for kind, lines in cells:
        if kind == "markdown":
            lines = [line[2:] if line.startswith("# ") else line.lstrip("#") for line in lines]
        else:
            lines = [MAGIC.sub(r"\1", line) for line in lines]
        text = "\n".join(lines).strip("\n")
        if text:
            out.append((kind, text))
    return out


def build(source_path: Path) -> nbformat.NotebookNode:
    cells = []
    for index, (kind, text) in enumerate(cells_of(source_path.read_text())):
        make = new_markdown_cell if kind == "markdown" else new_code_cell
        cell = make(text)
        cell.id = f"c{index:02d}"
        cells.append(cell)
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def render(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"


def targets() -> dict[Path, str]:
    """Every notebook path and the text it should have."""
    return {
        NOTEBOOKS / f"{src.stem}.ipynb": render(build(src))
        for src in sorted(SOURCES.glob("[0-9][0-9]_*.py"))
    }


def main(argv: list[str]) -> int:
    stale = []
    for path, text in targets().items():
        if path.exists() and path.read_text() == text:
            continue
        stale.append(path)
        if "--check" not in argv:
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    if "--check" in argv and stale:
        names = ", ".join(p.name for p in stale)
        print(f"out of date: {names}; run scripts/build_notebooks.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
