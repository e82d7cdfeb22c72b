"""Composer: several views in one image (rows by the window's rule, core.layout.arrange),
with a title, each view's name, the time label and a caption: the frames of an exported
animation or figure.

The panels fill the frame: every row of views spans the whole width (a short last row's
views are wider), the rows share the height between the title and the footer, and each
plot takes whatever shape its cell has (a view fills any shape: frames.view_extent). Text
is sized from the frame (one unit is ~1/53 of the geometric mean of its sides: 18 px at
1280x720), not from a panel, so a 720p and a 1080p export look alike and read on a slide.
Each view shows a region of the plane (x0, x1, y0, y1): the window view's, fitted to its
panel (set_regions).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QTextDocument, QTextOption

from flowviz.core.frames import LIM, ViewFrame
from flowviz.core.layout import arrange
from flowviz.render.canvas import Canvas, to_array
from flowviz.render.style import Style

#: Each view's name, as the window titles it.
VIEW_TITLES = {
    "conditional": "Conditional &nbsp; p<sub>t</sub>(x | z), u<sub>t</sub>(x | z)",
    "marginal": "Marginal &nbsp; p<sub>t</sub>(x), u<sub>t</sub>(x)",
    "learned": "Learned &nbsp; v<sub>θ</sub>(x, t)",
}
#: Text sizes in units (text_unit): view names, the heading, the footer, tick labels and
#: keys. At 1280x720 (18 px a unit): names 22 px, ticks and keys 15 px.
NAME, HEADING, FOOTER, TICKS, KEYS = 1.25, 1.5, 1.0, 0.82, 0.82
#: Shares (width, height, area) of a panel a key may take before it shrinks: a narrow
#: portrait panel still gets keys of the frame's text size.
KEY_ROOM = (0.8, 0.45, 0.15)
#: The region a view shows when none is given: the default camera's square.
DEFAULT_REGION = (-LIM, LIM, -LIM, LIM)


def text_unit(width: int, height: int) -> float:
    """One line of text in pixels for a width x height frame: 18 px at 1280x720, 27 px at
    1920x1080, the same share of a square or portrait frame of as many pixels."""
    return math.sqrt(width * height) / (40.0 * math.sqrt(16 / 9))


@dataclass(frozen=True)
class Layout:
    """Where things go in a width x height image: the title band, each view's name band
    and plot rectangle (x, y, w, h), the footer band, one text unit in pixels, and the
    outer margin (nothing but the margins is left empty)."""

    title: QRectF | None
    names: list[QRectF]
    plots: list[tuple[int, int, int, int]]
    footer: QRectF | None
    font_px: float
    margin: int = 0


def layout(
    n: int,
    width: int,
    height: int,
    *,
    title: bool,
    footer: bool,
    names: bool = True,
    choice: str = "auto",
) -> Layout:
    """Views in the rows and columns arrange(choice) gives for the band between the title
    and the footer, filled row by row; each row's views share the full width (a short last
    row's are wider), each view a name band over a plot that fills the rest of its cell."""
    unit = text_unit(width, height)
    margin = max(2, round(0.5 * unit))
    top = margin
    title_rect = None
    if title:
        title_rect = QRectF(margin, top, width - 2 * margin, round(1.9 * unit))
        top += round(2.1 * unit)
    name_h = round(1.6 * unit) if names else 0
    foot_h = round(1.8 * unit) if footer else 0
    bottom = height - margin - foot_h
    rows, cols = arrange(n, width, bottom - top, choice)
    cell_h = (bottom - top - (rows - 1) * margin) / rows
    names_r, plots = [], []
    for i in range(n):
        row, col = divmod(i, cols)
        in_row = min(cols, n - row * cols)
        cell_w = (width - (in_row + 1) * margin) / in_row
        x0 = round(margin + col * (cell_w + margin))
        x1 = round(margin + col * (cell_w + margin) + cell_w)
        y0 = round(top + row * (cell_h + margin))
        y1 = round(top + row * (cell_h + margin) + cell_h)
        names_r.append(QRectF(x0, y0, x1 - x0, name_h))
        plots.append((x0, y0 + name_h, x1 - x0, max(1, y1 - y0 - name_h)))
    footer_rect = QRectF(margin, bottom, width - 2 * margin, foot_h) if footer else None
    return Layout(title_rect, names_r, plots, footer_rect, font_px=unit, margin=margin)


class Composer:
    """Renders {view: ViewFrame} into (height, width, 3) uint8 frames of one layout
    (layout_choice: a core.layout choice, the Session's display.layout). regions: {view:
    (x0, x1, y0, y1)} each view shows (default: DEFAULT_REGION), fitted to its plot."""

    def __init__(
        self,
        views: list[str],
        *,
        width: int,
        height: int,
        style: Style,
        title: str = "",
        time_label: bool = True,
        caption: str = "",
        names: bool = True,
        layout_choice: str = "auto",
        regions: dict | None = None,
    ):
        self.views, self.width, self.height, self.style = views, width, height, style
        self.title, self.time_label, self.caption = title, time_label, caption
        self.layout = layout(
            len(views),
            width,
            height,
            title=bool(title),
            footer=time_label or bool(caption),
            names=names,
            choice=layout_choice,
        )
        unit = self.layout.font_px
        self.canvases = {}
        for view, (_, _, w, h) in zip(views, self.layout.plots, strict=True):
            canvas = self.canvases[view] = Canvas(style, w, h, text_px=TICKS * unit)
            # keys scale with the frame, not with the view: the same size in every panel
            canvas.scene.set_key_size(KEYS * unit * 72.0 / canvas.dpi(), room=KEY_ROOM)
        self._names = names
        self._docs: dict[tuple, QTextDocument] = {}
        self.set_regions(regions or {})

    def set_regions(self, regions: dict) -> None:
        """Show {view: (x0, x1, y0, y1)} in each view (a view not named: DEFAULT_REGION)."""
        for view, canvas in self.canvases.items():
            canvas.set_region(regions.get(view, DEFAULT_REGION))

    def regions(self) -> dict[str, tuple[float, float, float, float]]:
        """The rectangle each view shows (its region fitted to its plot)."""
        return {view: canvas.shown() for view, canvas in self.canvases.items()}

    def extents(self) -> dict[str, tuple[float, float]]:
        """Each view's extent (Canvas.extent): the half-widths about the origin its
        picture's grids cover to fill what it shows, as a window's view of that shape."""
        return {view: canvas.extent() for view, canvas in self.canvases.items()}

    def render(self, frames: dict[str, ViewFrame | None], t: float) -> np.ndarray:
        img = QImage(self.width, self.height, QImage.Format.Format_RGB888)
        img.fill(QColor(*self.style.background))
        p = QPainter(img)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        lay = self.layout
        for view, rect, name in zip(self.views, lay.plots, lay.names, strict=True):
            canvas = self.canvases[view]
            canvas.draw(frames.get(view))
            canvas.paint(p, rect[0], rect[1])
            if self._names:
                self._text(p, VIEW_TITLES.get(view, view), name, NAME, bold=True)
        if lay.title is not None:
            self._text(p, self.title, lay.title, HEADING, bold=True)
        if lay.footer is not None:
            self._text(p, self.footer(t), lay.footer, FOOTER)
        p.end()
        return to_array(img)

    def footer(self, t: float) -> str:
        """The footer's rich text at t: the time label and the caption."""
        parts = []
        if self.time_label:
            parts.append(f"<b>t = {t:.2f}</b>")
        if self.caption:
            parts.append(self.caption)
        return " &nbsp;&nbsp;·&nbsp;&nbsp; ".join(parts)

    def text_px(self, html: str, rect: QRectF, scale: float, bold: bool = False) -> int:
        """The pixel size html is set at in rect: scale units, smaller if one line of it
        would not fit the rectangle's width."""
        doc = self._doc(html, rect.width(), self.layout.font_px * scale, bold)
        return doc.defaultFont().pixelSize()

    def close(self) -> None:
        for canvas in self.canvases.values():
            canvas.close()

    def _text(self, p: QPainter, html: str, rect: QRectF, scale: float, bold=False) -> None:
        doc = self._doc(html, rect.width(), self.layout.font_px * scale, bold)
        w, h = doc.idealWidth(), doc.size().height()
        p.save()
        p.translate(QPointF(rect.x() + (rect.width() - w) / 2, rect.y() + (rect.height() - h) / 2))
        doc.drawContents(p)
        p.restore()

    def _doc(self, html: str, width: float, px: float, bold: bool) -> QTextDocument:
        """html on one line at px pixels, shrunk until it fits width (at least 8 px)."""
        key = (html, width, px, bold)
        doc = self._docs.get(key)
        if doc is None:
            doc = QTextDocument()
            doc.setDocumentMargin(0)
            option = QTextOption(Qt.AlignmentFlag.AlignLeft)
            option.setWrapMode(QTextOption.WrapMode.NoWrap)
            doc.setDefaultTextOption(option)
            colour = QColor(*self.style.foreground).name()
            size = max(8, round(px))
            while True:
                font = QFont()
                font.setPixelSize(size)
                font.setBold(bold)
                doc.setDefaultFont(font)
                doc.setHtml(f'<div style="color:{colour}">{html}</div>')
                if doc.idealWidth() <= width or size <= 8:
                    break
                size = max(8, min(size - 1, math.floor(size * width / doc.idealWidth())))
            if len(self._docs) >= 64:  # the footer's t changes every frame: stay flat
                self._docs.clear()
            self._docs[key] = doc
        return doc


def rich(text: str) -> str:
    """Plain formula text as rich text: t^2 -> t<sup>2</sup>, e^{...} -> e<sup>...</sup>,
    α_t -> α<sub>t</sub>, σ_min -> σ<sub>min</sub>."""
    text = re.sub(r"\^\{([^}]*)\}", r"<sup>\1</sup>", text)
    text = re.sub(r"\^([\w.]+)", r"<sup>\1</sup>", text)
    return re.sub(r"_(\{[^}]*\}|[A-Za-z0-9]+)", lambda m: f"<sub>{m[1].strip('{}')}</sub>", text)
