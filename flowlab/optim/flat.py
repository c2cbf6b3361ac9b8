"""The all-parameters-at-once path: an optimizer's state over the flat layout it was told (``flowlab.params``)."""

import numpy as np


class _FlatState:
    """An optimizer's state over a flat layout it was told: one update of the flat arrays updates every parameter."""

    def __init__(self, layout, state):
        self.layout, self.value, self.grad, self.state = layout, layout.value, layout.grad, state

    def still_holds(self, params):
        """Whether every parameter still has its value view and its gradient view (``params`` are the layout's,
        checked when this state was made): the check of every step, kept to two identity tests per parameter."""
        for p, value, grad in zip(params, self.layout.values, self.layout.grads):
            if p.value is not value or p.gradients.get(p) is not grad:
                return False
        return True

    def share_state(self, states):
        """Fills each parameter's state dict with views of the flat state (scalars copied)."""
        offset, size = 0, self.value.size
        for (p, state), value in zip(states.items(), self.layout.values):
            end = offset + value.size
            state.clear()
            for key, v in self.state.items():
                is_flat = isinstance(v, np.ndarray) and v.shape == (size,)
                state[key] = v[offset:end].reshape(value.shape) if is_flat else v
            offset = end
