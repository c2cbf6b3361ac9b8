"""Optimizers that update parameter nodes in place with torch.optim's rules, plus a name registry.

The rules come simplest first, as in tinygrad: ``sgd`` (SGD, Momentum, Nesterov), ``adaptive``
(Adagrad, RMSprop, Adadelta: a learning rate per element), ``adam`` (Adam, Adamax, NAdam). ``base``
holds the ``Optimizer`` they share, ``flat`` its all-parameters-at-once path, ``registry`` the names.
"""

from .base import Optimizer
from .registry import DEFAULT_LR, OPTIMIZERS, get_optimizer, register_optimizer
from .sgd import SGD, Momentum, Nesterov  # the import order is the registration order
from .adaptive import Adadelta, Adagrad, RMSprop
from .adam import Adam, Adamax, NAdam

__all__ = [
    "Optimizer",
    "SGD",
    "Momentum",
    "Nesterov",
    "Adam",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "Adamax",
    "NAdam",
    "OPTIMIZERS",
    "DEFAULT_LR",
    "register_optimizer",
    "get_optimizer",
]
