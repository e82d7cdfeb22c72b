"""Scene items fed from frame data: pyqtgraph, no windows, no widgets."""
