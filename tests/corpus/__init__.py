"""The kept corpus of malformed inputs (issue 12), for any test that opens files.

`cases()` lists every file with its kind ("points": opened as a point set, "checkpoint":
loaded as a checkpoint, "session": opened as a session file, "lesson": opened as a lesson)
and a substring of its expected one-line message, so the command
line's test and the window's open/load actions can run the same cases:

    from corpus import cases  # tests/ is on sys.path (its conftest.py lives there)

    @pytest.mark.parametrize("case", cases("points"), ids=lambda c: c.name)
    def test_open_points(case): ...

Regenerate the files with `python tests/corpus/make_corpus.py`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

FILES = Path(__file__).resolve().parent / "files"
EXPECTED = Path(__file__).resolve().parent / "expected.json"


@dataclass(frozen=True)
class Case:
    path: Path
    kind: str  # "points", "checkpoint", "session" (a .flowviz file) or "lesson"
    expected: str  # a substring of the message, which also starts with the file's name

    @property
    def name(self) -> str:
        return self.path.name


def kind_of(name: str) -> str:
    if name.endswith(".flowviz"):
        return "session"
    if name.endswith(".lesson.json"):
        return "lesson"
    return "checkpoint" if name.endswith(".pt") else "points"


def cases(*kinds: str) -> list[Case]:
    """Every corpus file (of the given kinds, default all), sorted by name."""
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))
    found = [Case(FILES / name, kind_of(name), msg) for name, msg in sorted(expected.items())]
    return [c for c in found if not kinds or c.kind in kinds]
