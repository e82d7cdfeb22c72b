"""The Formulas dock: typeset (no TeX source), every symbol defined, and a schedule plot
whose curves are the path's alpha_t, beta_t and derivatives, with a marker at t."""

import re

import numpy as np
import pytest
from PySide6.QtCore import QObject, Signal

from flowviz.core import paths
from flowviz.gui.panels.formulas import FormulaPanel

TEX = ("^{", "_{", "\\", "e^{", "$")


class FakeState(QObject):
    """The three signals and four attributes the panel reads from AppState."""

    path_changed = Signal()
    source_changed = Signal()
    time_changed = Signal(float)

    def __init__(self, path, source=None):
        super().__init__()
        self.path, self.source, self.t, self.playing = path, source, 0.25, False

    def set_t(self, t: float) -> None:
        self.t = t
        self.time_changed.emit(t)

    def set_path(self, path) -> None:
        self.path = path
        self.path_changed.emit()


def _panel(qtbot, path, source=None):
    state = FakeState(path, source)
    panel = FormulaPanel(state)
    qtbot.addWidget(panel)
    panel.set_shown(True)
    return state, panel


def _visible_text(html: str) -> str:
    """What a reader sees: the tags removed (sub/sup content kept)."""
    return re.sub(r"<[^>]+>", "", html).replace("&nbsp;", " ")


CASES = [
    ("condot", {}),
    ("cosine", {}),
    ("vp", {}),
    ("polynomial", {"n": 2.0}),
    ("polynomial", {"n": 3.5}),
    ("vp", {"sigma_min": 0.05}),
    ("condot", {"sigma_min": 0.1}),
]


@pytest.mark.parametrize(("name", "kw"), CASES)
def test_formulas_are_typeset_with_every_symbol_defined(qtbot, name, kw):
    path = paths.make(name, **kw)
    _, panel = _panel(qtbot, path)
    html = panel.text()
    for tex in TEX:
        assert tex not in html, f"TeX source {tex!r} on screen for {name}"
    assert "t^" not in html and "_t" not in html and "_min" not in html
    seen = _visible_text(html)
    for symbol in ("αt =", "βt =", "α′t =", "β′t =", "ut(x | z) =", "ut(x) = Σi"):
        assert symbol in seen, f"{symbol!r} missing for {name}"
    assert "LFM(θ) = LCFM(θ) + C" in seen
    assert "ε ∼ N(0, I)" in seen and "z: a data point" in seen
    # symbols a path introduces are defined, with their values
    if "T(" in seen:
        assert "T(s) =" in seen and "bmin = 0.1" in seen and "bmax = 20" in seen
    if "a0" in seen:
        assert re.search(r"a0 = a\(0\) = .*≈ 0\.00\d+", seen)
    if name == "polynomial":
        assert "tn" in seen and f"n = {kw['n']:g}:" in seen
    if kw.get("sigma_min"):
        assert f"σmin = {kw['sigma_min']:g}:" in seen


def test_a_drawn_source_changes_the_sample_and_the_conditional_field(qtbot):
    source = np.zeros((5, 2), np.float32)
    _, panel = _panel(qtbot, paths.make("condot", sigma_min=0.05), source=source)
    seen = _visible_text(panel.text())
    assert "xt = αt z + bt s + σmin ε" in seen
    # The Conditional view draws the field of {z} with the drawn source (core.exact):
    # the pair velocities averaged over the source points, not one x-independent pair field.
    assert "ut(x | z) = Σj p(sj | x, z, t) (α′t z + b′t sj)" in seen
    assert "p(sj | x, z, t) = N(x; αt z + bt sj, σmin² I) / Σl N(x; αt z + bt sl, σmin² I)" in (
        seen
    )
    assert "ut(x | z, s) = α′t z + b′t s, the velocity of its own pair" in seen
    assert "t = 0 is noise" not in seen and "t = 0 is the noise" not in seen
    assert "t = 0 is the drawn source blurred by σmin" in seen


def test_a_drawn_source_names_the_pair_posterior_the_core_computes(qtbot):
    _, panel = _panel(
        qtbot, paths.make("cosine", sigma_min=0.2), source=np.zeros((3, 2), np.float32)
    )
    seen = _visible_text(panel.text())
    assert "ut(x) = Σi, j p(zi, sj | x, t) (α′t zi + b′t sj)" in seen
    assert (
        "p(zi, sj | x, t) = N(x; αt zi + bt sj, σmin² I) / Σk, l N(x; αt zk + bt sl, σmin² I)"
        in seen
    )
    assert "p(zi | x, t) = Σj p(zi, sj | x, t)" in seen
    assert "N(x; αt zi, βt² I)" not in seen  # the Gaussian source's posterior
    assert "LCFM(θ) = Et, z, s, x ∼ pt(· | z, s) ‖vθ(x, t) − ut(x | z, s)‖²" in seen


def test_a_gaussian_source_names_the_data_posterior(qtbot):
    _, panel = _panel(qtbot, paths.make("condot", sigma_min=0.1))
    seen = _visible_text(panel.text())
    assert "p(zi | x, t) = N(x; αt zi, βt² I) / Σk N(x; αt zk, βt² I)" in seen
    assert "sj" not in seen and "pair" not in seen
    assert "t = 0 is the noise, t = 1 the data blurred by σmin" in seen


def test_drawn_source_fields_match_the_pair_posterior_formula():
    """The formula the panel shows, evaluated in float64 by hand, is what the core's
    marginal field computes with a drawn source (and the Gaussian-source posterior is not)."""
    import math

    import torch
    from scipy.special import softmax

    from flowviz.core import marginal

    rng = np.random.default_rng(4)
    z, src = rng.normal(size=(7, 2)), rng.normal(size=(5, 2)) * 0.7 + 1.0
    x = rng.normal(size=(6, 2))
    sig, t = 0.2, 0.55
    path = paths.make("cosine", sigma_min=sig)
    h = math.pi / 2
    a, b, da, db = math.sin(h * t), math.cos(h * t), h * math.cos(h * t), -h * math.sin(h * t)
    mean = a * z[:, None] + b * src[None]  # (N, M, 2): alpha z_i + b s_j
    d2 = ((x[:, None, None] - mean[None]) ** 2).sum(-1)  # (m, N, M)
    w = softmax((-d2 / (2 * sig * sig)).reshape(len(x), -1), 1).reshape(d2.shape)
    u_ref = (w[..., None] * (da * z[:, None] + db * src[None])[None]).sum((1, 2))
    args = {"x": torch.tensor(x), "t": t, "data": torch.tensor(z), "path": path}
    u = marginal.velocity(**args, source=torch.tensor(src)).numpy()
    np.testing.assert_allclose(u, u_ref, rtol=1e-9, atol=1e-12)
    post = marginal.posterior(**args, source=torch.tensor(src)).numpy()
    np.testing.assert_allclose(post, w.sum(2), atol=1e-12)
    beta = sig + (1 - sig) * b
    gauss = softmax(-((x[:, None] - a * z[None]) ** 2).sum(-1) / (2 * beta * beta), 1)
    assert np.abs(gauss - post).sum(1).max() > 0.1  # the panel's old formula was another


@pytest.mark.parametrize(
    ("n", "says"), [(1.0, "constant speed"), (2.0, "slow start"), (0.5, "fast start")]
)
def test_the_polynomial_label_follows_n(qtbot, n, says):
    _, panel = _panel(qtbot, paths.make("polynomial", n=n))
    seen = _visible_text(panel.text())
    assert says in seen
    others = {"constant speed", "slow start", "fast start"} - {says}
    assert not any(o in seen for o in others)
    if n == 1.0:
        assert "α′t = 1 throughout: CondOT itself" in seen
    else:
        assert f"α′1 = {n:g}" in seen  # d/dt t^n at t = 1
    if n > 1:
        assert "α′0 = 0," in seen


@pytest.mark.parametrize("sigma_min", [0.0, 0.2])
def test_the_cosine_note_says_when_the_variance_stays_1(qtbot, sigma_min):
    _, panel = _panel(qtbot, paths.make("cosine", sigma_min=sigma_min))
    seen = _visible_text(panel.text())
    assert "Var xt = αt² Var z + βt²" in seen
    assert "stays 1 on the way only for data of variance 1 and σmin = 0" in seen
    # The claim itself, for a data set of another variance (per coordinate):
    t = np.linspace(0, 1, 11)
    a, b = np.sin(np.pi * t / 2), sigma_min + (1 - sigma_min) * np.cos(np.pi * t / 2)
    rng = np.random.default_rng(0)
    z = rng.normal(size=(200_000, 2)) * [1.5, 0.5]
    eps = rng.normal(size=z.shape)
    var = np.array([(ai * z + bi * eps).var(0) for ai, bi in zip(a, b, strict=True)])
    np.testing.assert_allclose(var, a[:, None] ** 2 * z.var(0) + b[:, None] ** 2, rtol=0.02)
    assert np.abs(var - 1).max() > 0.5


def test_vp_shows_the_true_limit_of_beta_prime_at_t_1(qtbot):
    state, panel = _panel(qtbot, paths.make("vp"))
    state.set_t(1.0)
    seen = _visible_text(panel.text())
    assert "β′t = −∞" in seen and "β′t = −∞ is the limit as t → 1" in seen
    assert "50330" not in seen
    assert "The fields are evaluated at min(t, 0.9999)" in seen
    state.set_t(0.5)
    assert "limit" not in _visible_text(panel.values.text())


@pytest.mark.parametrize(("name", "kw"), CASES)
def test_the_plot_draws_the_paths_schedule(qtbot, name, kw):
    path = paths.make(name, **kw)
    _, panel = _panel(qtbot, path)
    for key in ("alpha", "beta", "d_alpha", "d_beta"):
        t, y = panel.plot.curves[key].getData()
        assert t[0] == 0.0 and t[-1] == 1.0 and len(t) > 50
        expect = getattr(paths.make(name, **kw).schedule(t), key).numpy()
        np.testing.assert_allclose(y, expect, rtol=1e-6, atol=1e-7)
    assert [item[1].text for item in panel.plot.legend.items] == [
        "α<sub>t</sub>",
        "β<sub>t</sub>",
        "α′<sub>t</sub>",
        "β′<sub>t</sub>",
    ]


def test_the_plot_follows_a_path_change(qtbot):
    state, panel = _panel(qtbot, paths.make("condot"))
    state.set_path(paths.make("cosine"))
    t, y = panel.plot.curves["alpha"].getData()
    np.testing.assert_allclose(y, np.sin(np.pi * t / 2), atol=1e-6)
    assert "Cosine" in panel.text()


def test_the_marker_and_values_follow_t(qtbot):
    path = paths.make("cosine")
    state, panel = _panel(qtbot, path)
    assert panel.plot.marker_t() == pytest.approx(0.25)
    state.set_t(0.6)
    assert panel.plot.marker_t() == pytest.approx(0.6)
    dots = panel.plot.dots.data
    s = path.schedule(0.6)
    expect = [float(getattr(s, k)) for k in ("alpha", "beta", "d_alpha", "d_beta")]
    np.testing.assert_allclose(dots["y"], expect, rtol=1e-6)
    assert "At t = 0.600" in panel.text()
    assert f"{float(s.alpha):.3f}" in panel.text()


def test_a_hidden_panel_idles_and_catches_up_when_shown(qtbot):
    state, panel = _panel(qtbot, paths.make("condot"))
    panel.set_shown(False)
    state.set_t(0.9)
    state.set_path(paths.make("vp"))
    assert panel.plot.marker_t() == pytest.approx(0.25)
    assert "VP" not in panel.text()
    panel.set_shown(True)
    assert panel.plot.marker_t() == pytest.approx(0.9)
    assert "VP" in panel.text()


def test_while_playing_the_marker_follows_t_throttled(qtbot):
    state, panel = _panel(qtbot, paths.make("condot"))
    state.playing = True
    state.set_t(0.3)
    state.set_t(0.7)
    qtbot.waitUntil(lambda: panel.plot.marker_t() == pytest.approx(0.7), timeout=2000)


def test_plot_text_is_at_least_10_pt(qtbot):
    _, panel = _panel(qtbot, paths.make("condot"))
    axis = panel.plot.getPlotItem().getAxis("bottom")
    assert axis.style["tickFont"].pointSizeF() >= 10
    assert panel.head.font().pointSizeF() >= 10


def test_the_window_shows_the_plot_in_its_formulas_dock(window, qtbot):
    from PySide6.QtWidgets import QDockWidget

    panel = window.findChild(FormulaPanel)
    dock = next(d for d in window.findChildren(QDockWidget) if d.widget() is panel)
    dock.show()
    dock.raise_()
    qtbot.waitUntil(lambda: panel.shown, timeout=5000)
    window.state.set_t(0.4)
    qtbot.waitUntil(lambda: panel.plot.marker_t() == pytest.approx(0.4), timeout=5000)
    name = window.state.path.name
    t, y = panel.plot.curves["beta"].getData()
    np.testing.assert_allclose(y, window.state.path.schedule(t).beta.numpy(), rtol=1e-6)
    assert name


def test_loss_chart_labels_are_typeset_and_it_is_projector_sized(qtbot):
    """The loss chart's math (L_FM − L_CFM) is set with subscripts, like the formulas."""
    from flowviz.gui.panels.loss_chart import LossChart

    chart = LossChart()
    qtbot.addWidget(chart)
    chart.set_coupling("independent")
    texts = [
        chart.gap_plot.getAxis("left").labelText,
        chart.loss_plot.getAxis("left").labelText,
        chart.gap_plot.getAxis("bottom").labelText,
        chart.legend.text(),
        chart.note.text(),
        chart.note.toolTip(),
    ]
    chart.set_coupling("minibatch OT")
    texts += [chart.note.text(), chart.note.toolTip()]
    for text in texts:
        assert "L_" not in text and "u_t" not in text, text
    # the gap plot's short axis name is defined by the note under it
    assert texts[0] == "gap"
    assert "Lower plot: L<sub>FM</sub> − L<sub>CFM</sub>" in texts[4]
    size = chart.graphics.minimumSize()
    assert size.width() >= 300 and size.height() >= 120  # both plots readable at 720p
    for plot in (chart.loss_plot, chart.gap_plot):
        assert plot.getAxis("left").style["tickFont"].pointSizeF() >= 10
    assert chart.legend.font().pointSizeF() >= 10


def test_the_plot_is_made_only_when_the_panel_is_first_shown(qtbot):
    """Start-up does not pay for a plot in a tab nobody has opened."""
    state = FakeState(paths.make("condot"))
    panel = FormulaPanel(state)
    qtbot.addWidget(panel)
    assert panel.plot is None
    state.set_t(0.5)
    assert panel.plot is None
    panel.set_shown(True)
    assert panel.plot is not None and panel.plot.marker_t() == pytest.approx(0.5)


def test_polynomial_below_1_shows_the_infinite_start_speed_as_a_limit(qtbot):
    state, panel = _panel(qtbot, paths.make("polynomial", n=0.5))
    state.set_t(0.0)
    seen = _visible_text(panel.values.text())
    assert "α′t = ∞" in seen and "β′t = −∞" in seen and "the limit as t → 0" in seen
    state.set_t(0.25)  # 0.5 / sqrt(0.25) = 1
    assert "α′t = 1.000" in _visible_text(panel.values.text())
