"""The TensorBoard logger (``TensorBoardLogger``, a training callback) and the writers it uses."""

from .logger import (
    SESSION_STATUS,
    EventFile,
    TensorBoardLogger,
    _add_histograms,
    _Layout,
    graph_def,
    render_decision_boundary,
)

__all__ = ["TensorBoardLogger", "EventFile", "graph_def", "render_decision_boundary", "SESSION_STATUS"]
