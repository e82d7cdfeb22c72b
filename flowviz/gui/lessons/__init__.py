"""Guided lessons on the window: the Lesson dock and menu (see flowviz.lessons for files)."""

from flowviz.gui.lessons.controller import LessonController, install_lessons

__all__ = ["LessonController", "install_lessons"]
