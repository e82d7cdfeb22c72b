"""LearnedView: shows pictures.learned of the Session and the newest weights: the
network's field v_theta(x, t), particles integrated with it, and an error map
|v_theta - u_t| against the exact marginal field.

New weights arrive as a new frozen InferenceField (core.inference: a fresh module per
snapshot, never trained or reloaded in place), so the frame worker can never see a
half-loaded model. A weight update is a soft refresh (FieldView): what is on screen stays
until its replacement is ready, so training several times a second does not blank or
stall the animation, and the worker only computes the frames actually shown.
"""

from __future__ import annotations

from flowviz import pictures
from flowviz.gui.views.field_view import FieldView

TITLE = "<b>Learned</b> &nbsp; v<sub>θ</sub>(x, t)"
HINT = " &nbsp;<small>(press Train, Ctrl+T)</small>"
ERROR_HINT = " &nbsp;<small>(blue: error |v<sub>θ</sub> − u<sub>t</sub>| / speed)</small>"
ERROR_TIP = (
    "Heat layer of the Learned view: the error |v_θ(x,t) − u_t(x)| against the exact "
    "marginal field, relative to the local speed |u_t(x)| (plus the median speed): white "
    "is exact, darkest is off by as much as the field itself. It fades as the network "
    "learns, first where p_t has mass: the network never sees points where p_t is ~0."
)


class LearnedView(FieldView):
    """The third view. set_field(field or None) shows new weights (an InferenceField or
    any callable x (m, 2), t -> (m, 2)); its solver, step count and error map are the
    Session's learned options (their controls are in the Training dock)."""

    def __init__(self, state, *, worker, style, parent=None):
        super().__init__(state, TITLE, worker=worker, style=style, parent=parent)
        self.field = None
        for sig in (
            state.data_changed,
            state.source_changed,
            state.path_changed,
            state.learned_changed,
        ):
            sig.connect(self._remake)
        state.display_changed.connect(self._on_display_changed)
        self.extent_changed.connect(self._on_extent_changed)
        self._update_title()

    def set_field(self, field) -> None:
        """Show another field (new weights: a soft refresh), or none."""
        self.field = field
        self._remake()

    def _remake(self, *, resized: bool = False) -> None:
        """A new picture; resized (only the view's shape changed): it keeps the particles."""
        s = self.state
        if self.field is None or s.path is None or not len(s.data):
            self.set_picture(None)
        else:
            self.set_picture(
                pictures.learned(
                    s.session,
                    self.field,
                    previous=self.picture,
                    extent=self.extent,
                    particles_of=self.picture if resized else None,
                )
            )
        self._update_title()

    def _on_extent_changed(self) -> None:
        if self.picture is not None:  # else there is nothing to reshape
            self._remake(resized=True)

    def _on_display_changed(self) -> None:
        if not self.restyle(self.state.display):
            self._remake()

    def _update_title(self) -> None:
        if self.field is None:
            self.title.setText(TITLE + HINT)
        else:
            error = self.state.session.learned.error_map
            self.title.setText(TITLE + (ERROR_HINT if error else ""))
