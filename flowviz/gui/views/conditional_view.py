"""ConditionalView: shows pictures.conditional of the Session: one data point z, its path
p_t(x|z) and its field u_t(x|z).

Everything there is closed form and cheap, so it is drawn on the UI thread; while playing
the field is the nearest time step's (memoised by the picture), the particles move at t.
"""

from __future__ import annotations

from flowviz import pictures
from flowviz.core import frames
from flowviz.gui.views.plot_view import PlotView


class ConditionalView(PlotView):
    """The selected data point z (state.selected): mean and 1-/2-sigma rings of p_t(x|z)
    (Gaussian source), its density as the heat layer, the conditional field, and
    conditional particles x_t = alpha_t z + beta_t eps with their paths."""

    def __init__(self, state, *, style, parent=None):
        super().__init__(
            state,
            "<b>Conditional</b> &nbsp; p<sub>t</sub>(x|z), u<sub>t</sub>(x|z) &nbsp;"
            "<small>(pick a data point z)</small>",
            style,
            parent,
        )
        self.picture: pictures.ConditionalPicture | None = None
        self._shown: frames.FieldFrame | None = None
        for sig in (
            state.data_changed,
            state.source_changed,
            state.path_changed,
            state.selected_changed,
            state.display_changed,
            self.extent_changed,
        ):
            sig.connect(self._on_model_changed)
        state.time_changed.connect(lambda _t: self._draw())
        state.playing_changed.connect(lambda _p: self._draw())
        self._on_model_changed()

    def current_frame(self) -> frames.FieldFrame | None:
        return self._shown

    def _on_model_changed(self, *_) -> None:
        s = self.state
        ready = s.path is not None and s.selected >= 0
        self.picture = pictures.conditional(s.session, extent=self.extent) if ready else None
        self._draw()

    def _draw(self) -> None:
        pic = self.picture
        if pic is None:
            self._shown = None
            self.drawer.draw(None)
            self.show_points()
            return
        t = self.state.t
        steps = self.state.display.steps
        field_t = round(t * steps) / steps if self.state.playing else t
        frame = pic.at(t, field_t=field_t)
        self._shown = frame.field
        self.drawer.draw(frame)
