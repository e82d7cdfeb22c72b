"""MarginalView: the FieldView of the exact marginal u_t(x), p_t(x), with the probe.

Hovering a point x shows u_t(x) as an arrow and circles the data points by their posterior
weight p(z | x, t): the seed's integral u_t(x) = sum_z p(z|x,t) u_t(x|z), seen as weights.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal

from flowviz import pictures
from flowviz.gui.views.field_view import FieldView

#: At most this many data points are circled (the largest weights); the status bar counts
#: them all.
TOP_WEIGHTS = 40
#: A data point "carries weight" when its posterior is at least this fraction of the largest.
WEIGHT_FLOOR = 1e-3


def weight_summary(w: np.ndarray) -> tuple[np.ndarray, int, float]:
    """(the indices to circle: the TOP_WEIGHTS largest that carry weight, how many carry
    weight in all, the effective number of points 1 / sum w^2) of posterior weights w (N,)."""
    w = np.asarray(w, np.float64)
    carry = w >= WEIGHT_FLOOR * w.max()
    top = np.argsort(w)[::-1][: min(TOP_WEIGHTS, int(carry.sum()))]
    return top, int(carry.sum()), float(1.0 / np.square(w / w.sum()).sum())


class MarginalView(FieldView):
    """Shows pictures.marginal of the Session, remade whenever data, source, path or the
    display's frame settings change."""

    probed = Signal(str)

    def __init__(self, state, *, worker, style, parent=None):
        super().__init__(
            state,
            "<b>Marginal</b> &nbsp; p<sub>t</sub>(x), u<sub>t</sub>(x) &nbsp;"
            "<small>(hover: posterior p(z|x,t))</small>",
            worker=worker,
            style=style,
            parent=parent,
        )
        self._probe_field = None
        self._probe_x: np.ndarray | None = None
        self.plot.scene().sigMouseMoved.connect(self._on_mouse_moved)
        state.time_changed.connect(lambda _t: self._update_probe())
        for sig in (state.data_changed, state.source_changed, state.path_changed):
            sig.connect(self._on_model_changed)
        state.display_changed.connect(self._on_display_changed)
        self.extent_changed.connect(self._on_extent_changed)
        self._on_model_changed()

    def _on_model_changed(self) -> None:
        s = self.state
        if s.path is None or len(s.data) == 0:
            self._probe_field = None
            self.set_picture(None)
        else:
            from flowviz.core.exact import ExactMarginal

            self.set_picture(pictures.marginal(s.session, extent=self.extent))
            # The worker owns the picture's field (its memo is unlocked); the probe its own.
            self._probe_field = ExactMarginal(data=s.data, path=s.path, source=s.source)
        self._update_probe()

    def _on_extent_changed(self) -> None:
        """The view's shape changed: the same particles, the field on the new grids."""
        if self.picture is not None:
            self.set_picture(
                pictures.marginal(self.state.session, extent=self.extent, particles_of=self.picture)
            )

    def _on_display_changed(self) -> None:
        if not self.restyle(self.state.display):
            self._on_model_changed()

    def probe(self, x) -> None:
        """Probe the field at x (2,) in data coordinates; None hides the probe."""
        self._probe_x = None if x is None else np.asarray(x, np.float32).reshape(2)
        self._update_probe()

    def leaveEvent(self, event):
        self.probe(None)
        super().leaveEvent(event)

    def _on_mouse_moved(self, scene_pos) -> None:
        if not self.viewbox.sceneBoundingRect().contains(scene_pos):
            self.probe(None)
            return
        p = self.viewbox.mapSceneToView(scene_pos)
        self.probe((p.x(), p.y()))

    def _update_probe(self) -> None:
        x, field = self._probe_x, self._probe_field
        if x is None or field is None or (np.abs(x) > 1.5 * np.array(self.extent)).any():
            self.scene.show_probe(None, None)
            return
        t = self.state.t
        u = field.velocity(x[None], t)[0]
        w = field.posterior(x[None], t)[0]
        top, count, effective = weight_summary(w)
        self.scene.show_probe(x, u, w[top], self.state.data[top])
        circled = f" ({len(top)} largest circled)" if count > len(top) else ""
        self.probed.emit(
            f"x = ({x[0]:.2f}, {x[1]:.2f}), t = {t:.2f}:  u_t(x) = ({u[0]:.2f}, {u[1]:.2f}), "
            f"|u| = {np.linalg.norm(u):.2f}.  Circles: p(z|x,t), largest {w[top[0]]:.2f}; "
            f"{count} points ≥ 1/1000 of it{circled}; effective number 1/Σp² = {effective:.1f}."
        )
