"""Composer: several views in one image (a row or a grid, by the window's rule,
core.layout.arrange), with a title, each view's name, the time label and a caption: the
frames of an exported animation or figure.

Each view is a render.canvas.Canvas (the window's plot, off screen); text is set with
Qt's rich text (sub- and superscripts), sized from the image height so a 720p and a 1080p
export look alike.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class Layout:
    """Where things go in a width x height image: the title band, each view's name band
    and plot rectangle (x, y, w, h), and the footer band."""

    title: QRectF | None
    names: list[QRectF]
    plots: list[tuple[int, int, int, int]]
    footer: QRectF | None
    font_px: float


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
    and the footer (auto: a row at 16:9 for two or three views), each a square plot under
    its name, as large as fits; each row centred, the footer right under the last."""
    unit = height / 40.0  # one line of text is ~1/40 of the height (18 px at 720p)
    margin = round(0.6 * unit)
    top = margin
    title_rect = None
    if title:
        title_rect = QRectF(0, top, width, 2.0 * unit)
        top += round(2.2 * unit)
    name_h = round(1.5 * unit) if names else 0
    foot_h = round(2.6 * unit) if footer else 0
    band_h = height - top - foot_h - margin
    rows, cols = arrange(n, width, band_h, choice)
    cell_w = (width - (cols + 1) * margin) / cols
    cell_h = (band_h - (rows - 1) * margin) / rows
    side = int(min(cell_w, cell_h - name_h))
    names_r, plots = [], []
    for i in range(n):
        row, col = divmod(i, cols)
        in_row = min(cols, n - row * cols)
        x = round((width - in_row * side - (in_row - 1) * margin) / 2 + col * (side + margin))
        y = top + row * (name_h + side + margin)
        names_r.append(QRectF(x, y, side, name_h))
        plots.append((x, y + name_h, side, side))
    bottom = top + rows * (name_h + side + margin) - margin
    footer_rect = QRectF(0, bottom + margin / 2, width, foot_h) if footer else None
    return Layout(title_rect, names_r, plots, footer_rect, font_px=unit)


class Composer:
    """Renders {view: ViewFrame} into (height, width, 3) uint8 frames of one layout
    (layout_choice: a core.layout choice, the Session's display.layout)."""

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
        self.canvases = {}
        for view, (_, _, side, _) in zip(views, self.layout.plots, strict=True):
            canvas = self.canvases[view] = Canvas(style, side, side)
            canvas.scene.set_key_size(max(5.0, side / 60))  # keys scale with the picture
        self._names = names
        self._docs: dict[tuple[str, float, bool], QTextDocument] = {}

    def extents(self) -> dict[str, tuple[float, float]]:
        """Each view's extent from its plot's pixel size (Canvas.extent): what its picture
        is made for, so an exported view is filled as the window's view of that size is."""
        return {view: canvas.extent() for view, canvas in self.canvases.items()}

    def render(
        self,
        frames: dict[str, ViewFrame | None],
        t: float,
        *,
        center=(0.0, 0.0),
        half: float = LIM,
    ) -> np.ndarray:
        img = QImage(self.width, self.height, QImage.Format.Format_RGB888)
        img.fill(QColor(*self.style.background))
        p = QPainter(img)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        lay = self.layout
        for view, rect, name in zip(self.views, lay.plots, lay.names, strict=True):
            canvas = self.canvases[view]
            canvas.draw(frames.get(view), center=center, half=half)
            canvas.paint(p, rect[0], rect[1])
            if self._names:
                self._text(p, VIEW_TITLES.get(view, view), name, 1.0, bold=True)
        if lay.title is not None:
            self._text(p, self.title, lay.title, 1.5, bold=True)
        if lay.footer is not None:
            parts = []
            if self.time_label:
                parts.append(f"<b>t = {t:.2f}</b>")
            if self.caption:
                parts.append(self.caption)
            self._text(p, " &nbsp;&nbsp;·&nbsp;&nbsp; ".join(parts), lay.footer, 1.05)
        p.end()
        return to_array(img)

    def close(self) -> None:
        for canvas in self.canvases.values():
            canvas.close()

    def _text(self, p: QPainter, html: str, rect: QRectF, scale: float, bold=False) -> None:
        doc = self._doc(html, rect.width(), self.layout.font_px * scale, bold)
        h = doc.size().height()
        p.save()
        p.translate(QPointF(rect.x(), rect.y() + (rect.height() - h) / 2))
        doc.drawContents(p)
        p.restore()

    def _doc(self, html: str, width: float, px: float, bold: bool) -> QTextDocument:
        key = (html, width, bold)
        doc = self._docs.get(key)
        if doc is None:
            doc = QTextDocument()
            font = QFont()
            font.setPixelSize(max(8, round(px)))
            font.setBold(bold)
            doc.setDefaultFont(font)
            doc.setDocumentMargin(0)
            option = QTextOption(Qt.AlignmentFlag.AlignCenter)
            option.setWrapMode(QTextOption.WrapMode.WordWrap)
            doc.setDefaultTextOption(option)
            colour = QColor(*self.style.foreground).name()
            doc.setHtml(f'<div style="color:{colour}">{html}</div>')
            doc.setTextWidth(width)
            self._docs[key] = doc
        return doc


def rich(text: str) -> str:
    """Plain formula text as rich text: t^2 -> t<sup>2</sup>, e^{...} -> e<sup>...</sup>,
    α_t -> α<sub>t</sub>, σ_min -> σ<sub>min</sub>."""
    text = re.sub(r"\^\{([^}]*)\}", r"<sup>\1</sup>", text)
    text = re.sub(r"\^([\w.]+)", r"<sup>\1</sup>", text)
    return re.sub(r"_(\{[^}]*\}|[A-Za-z0-9]+)", lambda m: f"<sub>{m[1].strip('{}')}</sub>", text)
