"""Pictures: what each view shows, as frame data, from a Session (no Qt).

One function per view kind turns a Session (plus weights for the learned view) into a
picture that gives the frame data `render/` draws at any t:

- conditional(session) -> ConditionalPicture: p_t(x|z), u_t(x|z) for the selected z;
- marginal(session) -> FieldPicture: the exact p_t(x), u_t(x) and particles on its flow;
- learned(session, weights, model_config) -> FieldPicture: v_theta, its particles and the
  error map against the exact field.

`picture.at(t)` computes a ViewFrame synchronously (the exporter); the window's FieldView
schedules the same picture's `frame(t)` and `trajectories(x0)` on its worker and composes
the same ViewFrame with `compose`, so the window and an exported file draw the same thing.
Torch loads when a picture is made, not when this package is imported.
"""

from flowviz.pictures.conditional import ConditionalPicture, conditional
from flowviz.pictures.field import FieldPicture, compose
from flowviz.pictures.learned import learned
from flowviz.pictures.marginal import marginal

__all__ = [
    "ConditionalPicture",
    "FieldPicture",
    "compose",
    "conditional",
    "learned",
    "marginal",
]
