"""The window a lecturer uses: presenter mode shows the loss chart at a readable size, says
Pause while playing, keeps each view title on one line and gives back the window as it
found it; the Training and Loss docks show every control unscrolled on a 720p screen; the
mouse wheel over the loss chart scrolls its dock instead of zooming, and Fit or a new run
make the chart follow its curves again. Checked on real widgets and events."""

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QFontMetricsF
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDockWidget, QLabel, QTabBar, QToolBar, QWidget

from flowviz.gui.sessions.controller import GALLERY

TRAINED = GALLERY / "two-moons-trained.flowviz"


def _size(qtbot, window, size) -> None:
    window.showNormal()
    window.resize(*size)
    qtbot.waitUntil(lambda: window.size().toTuple() == size)


def _present(qtbot, window, size=(1280, 720)) -> None:
    window.presenter_action.setChecked(True)
    _size(qtbot, window, size)  # offscreen "full screen" is 800 x 600: set the projector's


def _dock_tab(window, names=("Display", "Formulas", "Training")) -> str:
    """The current tab of the right-hand dock group (Display, Formulas, Training)."""
    for bar in window.findChildren(QTabBar):
        tabs = [bar.tabText(i) for i in range(bar.count())]
        if bar.isVisible() and set(names) <= set(tabs):
            return bar.tabText(bar.currentIndex())
    return ""


def _one_line(label: QLabel) -> bool:
    line = QFontMetricsF(label.font()).lineSpacing()
    return label.heightForWidth(label.width()) < 1.5 * line


def _whole(w: QWidget) -> bool:
    """w is shown whole: nothing of it is clipped by its scroll area or dock."""
    region = w.visibleRegion()
    return w.isVisible() and not region.isEmpty() and region.boundingRect() == w.rect()


def _wheel(widget: QWidget, *, ctrl: bool = False, steps: int = -3) -> None:
    """A wheel turn (steps notches; negative: towards the user) over widget's centre, as
    the window system delivers it (QTest: spontaneous, so it propagates as a real one)."""
    top = widget.window()
    pos = widget.mapTo(top, widget.rect().center())
    mods = Qt.KeyboardModifier.ControlModifier if ctrl else Qt.KeyboardModifier.NoModifier
    QTest.wheelEvent(top.windowHandle(), QPointF(pos), QPoint(0, 120 * steps), QPoint(0, 0), mods)
    QApplication.processEvents()


def _open_trained(qtbot, window) -> None:
    """The gallery's trained moons: readouts and the loss chart have text and curves."""
    sessions = window.extensions["sessions"]
    with qtbot.waitSignal(sessions.opened):
        sessions.open_session(str(TRAINED))
    panel = window.extensions["training"].panel
    qtbot.waitUntil(lambda: "Sample quality" in panel.quality.text())


# ------------------------------------------------------------ presenter mode


def test_presenter_play_button_says_pause_while_playing(qtbot, window):
    _present(qtbot, window)
    try:
        bar = window.presenter_bar
        play = next(a for a in bar.actions() if a.objectName() == "presenter_play")
        button = bar.widgetForAction(play)
        assert play.text() == "Play" and not window.state.playing
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        assert window.state.playing and play.text() == "Pause"
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        assert not window.state.playing and play.text() == "Play"
        window.player.play(True)  # Space, the time bar: the bar follows whoever plays
        assert play.text() == "Pause"
    finally:
        window.player.play(False)
        window.presenter_action.setChecked(False)


def test_esc_gives_back_the_docks_their_tabs_and_the_status_bar(qtbot, window):
    _size(qtbot, window, (1280, 720))
    window.findChild(QDockWidget, "display_dock").raise_()
    qtbot.waitUntil(lambda: _dock_tab(window) == "Display")
    docks = {d.objectName(): d.isVisible() for d in window.findChildren(QDockWidget)}
    bars = {b.objectName(): b.isVisible() for b in window.findChildren(QToolBar)}
    _present(qtbot, window)
    assert not window.findChild(QToolBar, "tools_bar").isVisible()
    assert "Presenter mode" in window.statusBar().currentMessage()
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert not window.presenter.on and not window.presenter_action.isChecked()
    qtbot.waitUntil(lambda: _dock_tab(window) == "Display")
    assert "Presenter mode" not in window.statusBar().currentMessage()
    assert {d.objectName(): d.isVisible() for d in window.findChildren(QDockWidget)} == docks
    assert {b.objectName(): b.isVisible() for b in window.findChildren(QToolBar)} == bars
    window.findChild(QDockWidget, "training_dock").raise_()
    training = window.extensions["training"]
    panel, chart = training.panel, training.chart
    shown = [panel.error_box, panel.progress, chart.graphics.viewport(), chart.note]
    qtbot.waitUntil(lambda: all(_whole(w) for w in shown))  # back at the laptop's type


def test_presenter_mode_shows_the_loss_chart_at_projector_size(qtbot, window):
    chart = window.extensions["training"].chart
    laptop = chart.legend.font().pointSizeF()
    window.presenter.set_scale(175)
    _present(qtbot, window)
    try:
        dock = window.findChild(QDockWidget, "loss_dock")
        qtbot.waitUntil(lambda: _whole(chart.graphics.viewport()))
        assert dock.isVisible() and chart.graphics.width() >= 250
        assert chart.legend.font().pointSizeF() >= 1.7 * laptop
        toggle = next(
            a for a in window.presenter_bar.actions() if a.objectName() == "presenter_chart"
        )
        assert toggle.isChecked()
        toggle.trigger()  # the lecturer hides it for a step that does not need it
        qtbot.waitUntil(lambda: not dock.isVisible())
        toggle.trigger()
        qtbot.waitUntil(dock.isVisible)
    finally:
        window.presenter_action.setChecked(False)
    assert chart.legend.font().pointSizeF() == laptop


@pytest.mark.parametrize("scale", [175, 250])
def test_view_titles_stay_on_one_line_in_presenter_mode_at_720p(qtbot, window, scale):
    window.presenter.set_scale(scale)
    _present(qtbot, window)
    try:
        titles = [v.title for v in window.views()]
        assert len(titles) == 3
        qtbot.waitUntil(lambda: all(_one_line(t) for t in titles))
        for t in titles:  # shrunk no lower than needed: the laptop's type at most 20 % less
            assert t.font().pointSizeF() >= 0.8 * window.presenter._font.pointSizeF() - 0.01
    finally:
        window.presenter_action.setChecked(False)
    assert not any(t.testAttribute(Qt.WidgetAttribute.WA_SetFont) for t in titles)


def test_the_one_line_check_sees_a_wrapped_title(qtbot, window):
    """A title too long for its view even at the smallest type wraps, and is reported."""
    _present(qtbot, window)
    try:
        title = window.conditional.title
        title.setText(title.text() + " and a very long explanation nobody could fit" * 3)
        qtbot.waitUntil(lambda: not _one_line(title))
    finally:
        window.presenter_action.setChecked(False)


# ------------------------------------------------------------ docks at 720p


@pytest.mark.parametrize("size", [(1280, 720), (1024, 700)])
def test_training_and_loss_docks_show_everything_unscrolled(qtbot, window, size):
    _size(qtbot, window, size)
    _open_trained(qtbot, window)
    training = window.extensions["training"]
    panel, chart = training.panel, training.chart
    widgets = [
        *panel.buttons.values(),
        panel.solver_box,
        panel.solver_steps_box,
        panel.error_box,
        panel.progress,
        panel.losses,
        panel.quality,
        chart.legend,
        chart.graphics.viewport(),
        chart.note,
    ]
    qtbot.waitUntil(lambda: all(_whole(w) for w in widgets))
    gap_axis = chart.gap_plot.getAxis("bottom")  # the step axis under the gap plot
    shown = chart.graphics.viewport().rect()
    view = chart.graphics
    assert shown.contains(view.mapFromScene(gap_axis.sceneBoundingRect()).boundingRect())
    assert not training.dock.widget().verticalScrollBar().isVisible()
    assert not training.loss_dock.widget().verticalScrollBar().isVisible()
    if size[0] < 1280:
        return  # the readout's two lines fill a 1024 x 700 screen's docks exactly
    # A readout a line longer still leaves everything whole at 1280 x 720.
    line = QFontMetricsF(panel.quality.font()).lineSpacing()
    before = panel.quality.height()
    panel.quality.setText(panel.quality.text() + " ± 0.012 · the floor's spread over seeds 11 %")
    qtbot.waitUntil(lambda: panel.quality.height() >= before + line - 1)
    qtbot.waitUntil(lambda: all(_whole(w) for w in widgets))


def test_a_first_launch_gives_the_loss_chart_the_room_the_panel_leaves(qtbot, settings):
    from flowviz.gui.app.launch import make_window

    assert not settings.contains("windowState")  # no layout remembered: a first launch
    w = make_window(settings)
    qtbot.addWidget(w)
    w.resize(1920, 1080)  # the screen's size, as the first launch takes it
    with qtbot.waitSignal(w.core_ready):
        w.show()
    w.player.play(False)
    training = w.extensions["training"]
    try:
        dock, area, panel = training.dock, training.dock.widget(), training.panel

        def split() -> bool:  # no empty space under the panel; the chart has the rest
            tight = area.height() <= panel.sizeHint().height() + 40
            return tight and training.loss_dock.height() > 1.5 * dock.height()

        qtbot.waitUntil(split)
        assert _whole(panel.quality) and _whole(training.chart.graphics.viewport())
    finally:
        w.close()


def test_the_unscrolled_check_sees_a_clipped_widget(qtbot, window):
    _size(qtbot, window, (1280, 720))
    panel = window.extensions["training"].panel
    qtbot.waitUntil(lambda: _whole(panel.error_box))
    panel.quality.setText("<br>".join(["a line of a very long readout"] * 30))
    window.extensions["training"].dock.widget().setMinimumHeight(0)
    window.extensions["training"].dock.widget().setMaximumHeight(200)  # squeeze the dock
    qtbot.waitUntil(lambda: not _whole(panel.quality))


# ------------------------------------------------------------ the loss chart's wheel


def test_wheel_over_the_loss_chart_scrolls_its_dock_and_ctrl_wheel_zooms(qtbot, window):
    _size(qtbot, window, (1280, 720))
    _open_trained(qtbot, window)
    training = window.extensions["training"]
    chart, area = training.chart, training.loss_dock.widget()
    area.setMaximumHeight(120)  # a dock too short for the chart: it scrolls
    qtbot.waitUntil(lambda: area.verticalScrollBar().maximum() > 0)
    box = chart.loss_plot.getViewBox()
    steps = [s for s, _cfm, _fm in chart.history()]

    def shows_every_step() -> bool:
        lo, hi = box.viewRange()[0]
        return lo <= steps[0] and hi >= steps[-1]

    qtbot.waitUntil(shows_every_step)  # the chart redraws on a timer after the open

    def scrolled() -> bool:  # a wheel turn over the chart (again, while the layout settles)
        _wheel(chart.graphics.viewport())
        return area.verticalScrollBar().value() > 0

    qtbot.waitUntil(scrolled)  # the dock scrolled
    assert not chart.zoomed() and shows_every_step()
    assert not chart.fit_button.isEnabled()

    _wheel(chart.graphics.viewport(), ctrl=True, steps=3)  # away from the user: zoom in
    assert chart.zoomed() and not shows_every_step()
    assert chart.fit_button.isEnabled()
    qtbot.mouseClick(chart.fit_button, Qt.MouseButton.LeftButton)
    assert not chart.zoomed() and not chart.fit_button.isEnabled()
    qtbot.waitUntil(shows_every_step)

    _wheel(chart.graphics.viewport(), ctrl=True, steps=3)
    assert chart.zoomed()
    chart.clear()  # a new run: the chart follows its new curves
    assert not chart.zoomed()


def test_a_lesson_started_while_presenting_stays_after_leaving(qtbot, window):
    lessons = window.extensions["lessons"]
    assert not lessons.dock.isVisible()
    _present(qtbot, window)
    lessons.go(0)
    qtbot.waitUntil(lessons.dock.isVisible)
    window.presenter_action.setChecked(False)
    assert lessons.dock.isVisible() and lessons.index == 0
    assert window.findChild(QToolBar, "tools_bar").isVisible()
