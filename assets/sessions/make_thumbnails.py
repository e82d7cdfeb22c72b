"""Make the start screen's gallery thumbnails, headless, with the exporter's renderer.

    .venv/bin/python assets/sessions/make_thumbnails.py [--size 160] [--folder assets/sessions]

Each gallery session NAME.flowviz gets NAME.png: its Marginal view at t = 1, the data with
the particles that reached it (coloured by where they started), no title or caption. It
shows the session's data, so it depends on the data and the view settings, not on the
trained network: rerun it after make_gallery.py changes a data set.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

VIEW = "marginal"
T = 1.0


def thumbnail(session_file: Path, size: int):
    """The session's Marginal view at t = T as a size x size QImage: the exporter's canvas,
    without axes, keys or arrows (a thumbnail shows the data's shape, not a reading)."""
    from PySide6.QtWidgets import QApplication

    from flowviz import sessions
    from flowviz.export.animation import Spec, one_torch_thread, pictures_of, prepare, qt_app
    from flowviz.render.canvas import Canvas
    from flowviz.render.style import Style

    session, _trained = sessions.load(session_file)
    qt_app()
    one_torch_thread()
    session = prepare(session, Spec(views=(VIEW,))).patch(
        display={"arrows": "off", "trails": 0, "particles": 1500}
    )
    canvas = Canvas(Style(dark=False), size, size)
    try:
        for axis in ("left", "bottom"):
            canvas.plot.hideAxis(axis)
        canvas.scene.show_colorbar(False)
        canvas.scene.show_legend(False)
        QApplication.processEvents()  # lay the plot out without its axes before fitting
        pic = pictures_of(session, (VIEW,), extents={VIEW: canvas.extent()})[VIEW]
        cam = session.camera
        canvas.draw(pic.at(T), center=cam.center, half=cam.half)
        return canvas.image()
    finally:
        canvas.close()


def save_png(image, path: Path) -> None:
    tmp = path.with_suffix(".png.tmp")
    if not image.save(str(tmp), "PNG"):
        raise OSError(f"could not write {tmp}")
    tmp.replace(path)  # atomic: the start screen never reads half a file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    from flowviz.gui.sessions.start_screen import THUMBNAIL

    parser.add_argument("--size", type=int, default=THUMBNAIL, help="pixels across (square)")
    parser.add_argument("--folder", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args(argv)
    files = sorted(args.folder.glob("*.flowviz"))
    for f in files:
        out = f.with_suffix(".png")
        save_png(thumbnail(f, args.size), out)
        print(f"{out} ({args.size} x {args.size})")
    return 0 if files else 1


if __name__ == "__main__":
    sys.exit(main())
