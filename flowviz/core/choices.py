"""The named choices a user picks from, in one torch-free place: the window, the Session,
the command line and the core all read them here (the core maps each name to code)."""

from __future__ import annotations

#: Probability paths: name -> label (core.paths implements each).
PATHS = {"condot": "CondOT", "cosine": "Cosine", "vp": "VP (diffusion)", "polynomial": "Polynomial"}
#: Couplings of (x0, z) in a training batch: name -> label (core.couplings).
COUPLINGS = {
    "independent": "independent (I-CFM)",
    "ot": "minibatch OT",
    "sinkhorn": "Sinkhorn (entropic OT)",
}
#: ODE solvers for particles and sampling (core.solvers).
SOLVERS = ("euler", "midpoint", "rk4")
#: Hidden-layer activations of the velocity network (core.model).
ACTIVATIONS = ("silu", "relu", "tanh", "gelu", "elu")
#: How a field is drawn, and the heat layer behind it.
ARROWS = ("length", "colour", "streamlines", "off")
HEAT = ("density", "speed", "off")
#: The views a window can show, in their order.
VIEWS = ("conditional", "marginal", "learned")
#: Training devices ("auto": CUDA, then MPS, then the CPU).
DEVICES = ("auto", "cpu", "cuda", "mps")
