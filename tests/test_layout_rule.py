"""core.layout.arrange: the one rule for how views share the window and an exported frame."""

import math

import pytest

from flowviz.core.layout import arrange


def _cell_aspect(n, width, height, choice="auto"):
    rows, cols = arrange(n, width, height, choice)
    return (width / cols) / (height / rows)


@pytest.mark.parametrize(
    "n, size, expected",
    [
        (1, (1600, 900), (1, 1)),
        (2, (1600, 900), (1, 2)),  # two views at 16:9: a row, as exports always were
        (3, (1280, 650), (1, 3)),  # a 1280 x 720 export's view band: still a row
        (3, (923, 615), (2, 2)),  # the window's view area beside its docks: a grid
        (3, (667, 615), (2, 2)),
        (3, (400, 900), (3, 1)),  # a tall area: a column
        (4, (1000, 1000), (2, 2)),
    ],
)
def test_auto_picks_the_arrangement_whose_cells_are_closest_to_square(n, size, expected):
    assert arrange(n, *size) == expected


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize(
    "size", [(1280, 720), (1024, 700), (1920, 1080), (3840, 2160), (700, 1000)]
)
def test_no_other_arrangement_has_squarer_cells(n, size):
    best = abs(math.log(_cell_aspect(n, *size)))
    for cols in range(1, n + 1):
        rows = math.ceil(n / cols)
        if rows * (cols - 1) < n:  # (2 rows of 3 + 1 is said better as 2 rows of 2 + 2)
            assert best <= abs(math.log((size[0] / cols) / (size[1] / rows))) + 1e-9
    rows, cols = arrange(n, *size)
    assert (rows - 1) * cols < n <= rows * cols and rows * (cols - 1) < n  # no empty row


def test_row_and_grid_are_what_they_say_whatever_the_shape():
    for size in ((3840, 400), (400, 3840)):
        assert arrange(3, *size, "row") == (1, 3)
        assert arrange(3, *size, "grid") == (2, 2)
        assert arrange(4, *size, "grid") == (2, 2)
        assert arrange(2, *size, "grid") == (1, 2)
        assert arrange(5, *size, "grid") == (2, 3)


def test_degenerate_input_still_gives_one_cell_and_a_bad_choice_is_refused():
    assert arrange(0, 0, 0) == (1, 1)
    assert arrange(3, 0, 500) == (3, 1)
    with pytest.raises(ValueError, match="unknown layout"):
        arrange(3, 100, 100, "spiral")
