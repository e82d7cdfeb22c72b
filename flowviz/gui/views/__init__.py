"""The views: PlotView, FieldView (schedules and caches picture calls) and the three views."""
