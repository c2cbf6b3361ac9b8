"""The TensorBoard logger (``TensorBoardLogger``, a training callback) and the writers it uses."""

from .logger import SESSION_STATUS, EventFile, TensorBoardLogger, graph_def, render_decision_boundary
from .stats import _add_histograms, _Layout

__all__ = ["TensorBoardLogger", "EventFile", "graph_def", "render_decision_boundary", "SESSION_STATUS"]
