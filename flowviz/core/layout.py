"""How several views share a rectangle: one rule for the window and for export.

Each view shows a square region of the plane, so a cell far from square wastes its area
(three views side by side at 16:9 are tall strips with the data in their middle third).
Here so that the Session (which validates the choice), the window's view area and the
exporter's composer, which may not import each other, read the same rule.
"""

from __future__ import annotations

import math

#: The layout choices: "auto" picks the arrangement whose cells are closest to square.
LAYOUTS = ("auto", "row", "grid")


def arrange(n_views: int, width: float, height: float, choice: str = "auto") -> tuple[int, int]:
    """(rows, cols) for n_views in a width x height area, filled row by row. row: 1 x n;
    grid: the squarest grid, ceil(sqrt(n)) columns (2 x 2 for three or four views); auto:
    of the arrangements using the fewest columns for their rows (a row, a column, a grid),
    the one whose cells' aspect is nearest 1 (on a log scale: 2:1 is as far as 1:2); on a
    tie the one with fewer rows."""
    if choice not in LAYOUTS:
        raise ValueError(f"unknown layout {choice!r}; choose one of {', '.join(LAYOUTS)}")
    n = max(int(n_views), 1)
    if choice == "row":
        return 1, n
    if choice == "grid":
        cols = math.ceil(math.sqrt(n))
        return math.ceil(n / cols), cols
    best, best_score = (1, n), math.inf
    for cols in range(n, 0, -1):
        rows = math.ceil(n / cols)
        if rows * (cols - 1) >= n:  # as many rows with fewer columns: that one, not this
            continue
        score = abs(math.log(max(width, 1) * rows / (max(height, 1) * cols)))
        if score < best_score - 1e-9:
            best, best_score = (rows, cols), score
    return best
