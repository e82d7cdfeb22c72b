"""ExportDialog: what to export (views, format, size, timing, look) and where; it
remembers the last choices in QSettings."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from flowviz.core import choices
from flowviz.export.animation import Spec

FORMATS = {"mp4": "MP4 (H.264)", "gif": "GIF", "webm": "WebM (VP9)", "png": "PNG frames (folder)"}
SIZES = {"1280x720": "1280 × 720", "1920x1080": "1920 × 1080", "1080x1080": "1080 × 1080"}
DIRECTIONS = {"forward": "noise → data", "reverse": "data → noise", "loop": "there and back"}
REGIONS = {"window": "what the window shows", "fit": "everything drawn (data, source, paths)"}
SCALES = {"1.0": "100 %", "0.75": "75 %", "0.5": "50 %"}


class ExportDialog(QDialog):
    """spec() -> Spec, path() -> the output path (format's extension added). shown: the
    views the window shows (the default selection)."""

    def __init__(
        self, settings: QSettings, shown: tuple[str, ...], parent=None, *, dark: bool = False
    ):
        super().__init__(parent)
        self._dark = dark
        self.setWindowTitle("Export animation")
        self.settings = settings
        form = QFormLayout(self)
        views = QWidget(self)
        row = QHBoxLayout(views)
        row.setContentsMargins(0, 0, 0, 0)
        self.views = {v: QCheckBox(v.title(), views) for v in choices.VIEWS}
        for box in self.views.values():
            row.addWidget(box)
        self.format = _combo(FORMATS)
        self.size = _combo({**SIZES, "custom": "custom"})
        self.width_box = _spin(16, 7680, 1280, 16)
        self.height_box = _spin(16, 4320, 720, 16)
        size = QWidget(self)
        srow = QHBoxLayout(size)
        srow.setContentsMargins(0, 0, 0, 0)
        for w in (self.size, self.width_box, self.height_box):
            srow.addWidget(w)
        self.scale = _combo(SCALES)
        self.scale.setToolTip("Render smaller: a GIF's size goes with its pixel count")
        srow.addWidget(self.scale)
        self.region = _combo(REGIONS)
        self.estimate = QLabel(self)
        self.fps = _spin(1, 120, 30, 1)
        self.duration = QDoubleSpinBox(self, minimum=0.2, maximum=600.0, decimals=1, value=4.0)
        self.duration.setSuffix(" s")
        self.frames = _spin(1, 100_000, 120, 10)
        self.t0 = QDoubleSpinBox(self, minimum=0.0, maximum=1.0, decimals=2, singleStep=0.05)
        self.t1 = QDoubleSpinBox(self, minimum=0.0, maximum=1.0, decimals=2, singleStep=0.05)
        self.t1.setValue(1.0)
        self.direction = _combo(DIRECTIONS)
        self.title = QLineEdit(self)
        self.title.setPlaceholderText("a heading over the views (optional)")
        self.time_label = QCheckBox('time label "t = 0.42"', self)
        self.caption = QCheckBox("caption with the path's formula", self)
        self.theme = _combo({"light": "light background", "dark": "dark background"})
        self.out = QLineEdit(self)
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        out = QWidget(self)
        orow = QHBoxLayout(out)
        orow.setContentsMargins(0, 0, 0, 0)
        orow.addWidget(self.out, 1)
        orow.addWidget(browse)
        form.addRow("Views", views)
        form.addRow("Format", self.format)
        form.addRow("Size", size)
        form.addRow("Region", self.region)
        form.addRow("Frames per second", self.fps)
        form.addRow("Duration", self.duration)
        form.addRow("Frames", self.frames)
        form.addRow("From t", self.t0)
        form.addRow("To t", self.t1)
        form.addRow("Direction", self.direction)
        form.addRow("Title", self.title)
        form.addRow(self.time_label)
        form.addRow(self.caption)
        form.addRow("Theme", self.theme)
        form.addRow("Save as", out)
        form.addRow("Estimate", self.estimate)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.size.currentIndexChanged.connect(self._on_size)
        self.duration.valueChanged.connect(self._on_duration)
        self.fps.valueChanged.connect(self._on_duration)
        self.frames.valueChanged.connect(self._on_frames)
        self.format.currentIndexChanged.connect(self._on_format)
        self._restore(shown)
        for box in (self.width_box, self.height_box, self.frames, self.fps):
            box.valueChanged.connect(self._update_estimate)
        for combo in (self.scale, self.format, self.size):
            combo.currentIndexChanged.connect(self._update_estimate)
        self._update_estimate()

    # ------------------------------------------------------------ values

    def size_px(self) -> tuple[int, int]:
        """Width and height of the file: the size times the scale."""
        k = float(self.scale.currentData())
        return (max(16, round(self.width_box.value() * k)),
                max(16, round(self.height_box.value() * k)))  # fmt: skip

    def spec(self) -> Spec:
        """The export the dialog describes (ValueError when it is not a valid one)."""
        width, height = self.size_px()
        return Spec(
            views=tuple(v for v, box in self.views.items() if box.isChecked()),
            width=width,
            height=height,
            fps=float(self.fps.value()),
            frames=self.frames.value(),
            t0=self.t0.value(),
            t1=self.t1.value(),
            direction=self.direction.currentData(),
            title=self.title.text().strip(),
            time_label=self.time_label.isChecked(),
            caption=self.caption.isChecked(),
            theme=self.theme.currentData(),
            region=self.region.currentData(),
        )

    def _update_estimate(self) -> None:
        """What the file will weigh, roughly (export.gif.estimate), before anything is made."""
        from flowviz.export import gif

        width, height = self.size_px()
        nbytes = gif.estimate(
            self.format.currentData(), width=width, height=height, frames=self.frames.value()
        )
        self.estimate.setText(
            f"about {nbytes / 1e6:.1f} MB at {width} × {height}"
            + (" (lower the frame rate or the scale for a lighter GIF)" if nbytes > 8e6 else "")
        )

    def path(self) -> str:
        """The output path with the chosen format's extension (a folder for PNG frames)."""
        text = self.out.text().strip()
        if not text:
            return ""
        p = Path(text).expanduser()
        fmt = self.format.currentData()
        if fmt == "png":
            return str(p.with_suffix("") if p.suffix.lower() in (".mp4", ".gif", ".webm") else p)
        return str(p.with_suffix(f".{fmt}"))

    # ------------------------------------------------------------ slots

    def _on_size(self) -> None:
        key = self.size.currentData()
        custom = key == "custom"
        self.width_box.setEnabled(custom)
        self.height_box.setEnabled(custom)
        if not custom:
            w, h = (int(x) for x in key.split("x"))
            self.width_box.setValue(w)
            self.height_box.setValue(h)

    def _on_duration(self) -> None:
        self.frames.blockSignals(True)
        self.frames.setValue(max(1, round(self.duration.value() * self.fps.value())))
        self.frames.blockSignals(False)

    def _on_frames(self) -> None:
        self.duration.blockSignals(True)
        self.duration.setValue(self.frames.value() / self.fps.value())
        self.duration.blockSignals(False)

    def _on_format(self) -> None:
        if self.out.text().strip():
            self.out.setText(self.path())

    def _browse(self) -> None:
        fmt = self.format.currentData()
        if fmt == "png":
            name = QFileDialog.getExistingDirectory(self, "Folder for the PNG frames")
        else:
            name, _ = QFileDialog.getSaveFileName(
                self, "Export animation", self.path() or f"flowviz.{fmt}", f"{fmt} (*.{fmt})"
            )
        if name:
            self.out.setText(name)
            self.out.setText(self.path())

    # ------------------------------------------------------------ memory

    def accept(self) -> None:
        self._remember()
        super().accept()

    def _remember(self) -> None:
        s = self.settings
        s.setValue("export/views", ",".join(v for v, b in self.views.items() if b.isChecked()))
        for key, box in (("format", self.format), ("size", self.size)):
            s.setValue(f"export/{key}", box.currentData())
        for key, box in (
            ("direction", self.direction),
            ("theme", self.theme),
            ("region", self.region),
            ("scale", self.scale),
        ):
            s.setValue(f"export/{key}", box.currentData())
        for key, spin in (
            ("width", self.width_box),
            ("height", self.height_box),
            ("fps", self.fps),
            ("frames", self.frames),
            ("t0", self.t0),
            ("t1", self.t1),
        ):
            s.setValue(f"export/{key}", spin.value())
        s.setValue("export/title", self.title.text())
        s.setValue("export/time_label", self.time_label.isChecked())
        s.setValue("export/caption", self.caption.isChecked())
        s.setValue("export/out", self.out.text())

    def _restore(self, shown: tuple[str, ...]) -> None:
        s = self.settings
        views = str(s.value("export/views", ",".join(shown))).split(",")
        for v, box in self.views.items():
            box.setChecked(v in views)
        for key, box, default in (
            ("format", self.format, "mp4"),
            ("size", self.size, "1280x720"),
            ("direction", self.direction, "forward"),
            ("theme", self.theme, "dark" if self._dark else "light"),
            ("region", self.region, "window"),
            ("scale", self.scale, "1.0"),
        ):
            box.setCurrentIndex(max(0, box.findData(str(s.value(f"export/{key}", default)))))
        self._on_size()
        for key, spin, default, kind in (
            ("width", self.width_box, 1280, int),
            ("height", self.height_box, 720, int),
            ("fps", self.fps, 30, int),
            ("frames", self.frames, 120, int),
            ("t0", self.t0, 0.0, float),
            ("t1", self.t1, 1.0, float),
        ):
            spin.setValue(kind(float(s.value(f"export/{key}", default))))
        self._on_frames()
        self.title.setText(str(s.value("export/title", "")))
        self.time_label.setChecked(_bool(s.value("export/time_label", True)))
        self.caption.setChecked(_bool(s.value("export/caption", True)))
        self.out.setText(str(s.value("export/out", "")))


def _combo(items: dict[str, str]) -> QComboBox:
    box = QComboBox()
    for value, text in items.items():
        box.addItem(text, value)
    return box


def _spin(lo: int, hi: int, value: int, step: int) -> QSpinBox:
    box = QSpinBox()
    box.setRange(lo, hi)
    box.setValue(value)
    box.setSingleStep(step)
    return box


def _bool(value) -> bool:
    return value in (True, "true", "1", 1)
