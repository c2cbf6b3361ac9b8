"""flowlab: watch neural networks learn. A MiniFlow-compatible numpy autodiff engine with TensorBoard sweeps.

Every public name loads on first use, so ``import flowlab`` and the ``flowlab`` command start fast.
"""

__version__ = "0.1.0"
#: The name this project is installed under (``pip install flowlab-nn``); the PyPI package called
#: ``flowlab`` is an unrelated project that also imports as ``flowlab``. Notebooks check this marker.
__distribution__ = "flowlab-nn"

_PUBLIC = {
    ".graph": ["Node", "Input", "topological_sort", "forward_pass", "forward_and_backward"],
    ".nodes": ["Add", "Mul", "MatMul", "Linear", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Softmax", "ACTIVATIONS"],
    ".losses": ["MSE", "SoftmaxCrossEntropy"],
    ".gradcheck": ["check_gradients", "numeric_gradient"],
    ".models": ["MLP"],
    ".model": ["Model"],
    ".loop_logger": ["LoopLogger"],
    ".train": ["Trainer", "Callback", "EarlyStopping"],
    ".data": ["load_dataset"],
    ".experiment": ["Experiment", "Results", "RunResult"],
    ".tensorboard": ["TensorBoardLogger"],
}
_WHERE = {name: module for module, names in _PUBLIC.items() for name in names}

__all__ = list(_WHERE)


def __getattr__(name):
    if name in _WHERE:
        import importlib

        value = getattr(importlib.import_module(_WHERE[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'flowlab' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_WHERE))
