"""flowlab: watch neural networks learn. A MiniFlow-compatible numpy autodiff engine with TensorBoard sweeps."""

from .graph import Input, Node, forward_and_backward, forward_pass, topological_sort
from .losses import MSE, SoftmaxCrossEntropy
from .nodes import ACTIVATIONS, Add, LeakyReLU, Linear, MatMul, Mul, ReLU, Sigmoid, Softmax, Tanh

__version__ = "0.1.0"

__all__ = [
    "Node",
    "Input",
    "Add",
    "Mul",
    "MatMul",
    "Linear",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "LeakyReLU",
    "Softmax",
    "MSE",
    "SoftmaxCrossEntropy",
    "ACTIVATIONS",
    "topological_sort",
    "forward_pass",
    "forward_and_backward",
]
