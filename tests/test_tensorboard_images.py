"""flowlab.tensorboard.images: the decision-boundary picture, its regions and points in the class colors."""

import numpy as np
import pytest

from flowlab.tensorboard import render_decision_boundary


class Threshold:
    """A model predicting class 1 right of x = 0 and class 0 left of it."""

    def predict(self, x):
        return (x[:, 0] > 0).astype(int)


def test_render_decision_boundary_colors_regions_and_points():
    x = np.array([[-1.0, -1.0], [1.0, 1.0]])
    image = render_decision_boundary(Threshold(), x, np.array([0, 1]), size=100)
    assert image.shape == (100, 100, 3) and image.dtype == np.uint8
    left, right = image[50, 5].astype(int), image[50, 94].astype(int)
    assert left[2] > left[0] and right[0] > right[2]  # class 0 is blue, class 1 orange
    # The points sit 8% inside the borders, bottom left and top right, in full class color.
    assert tuple(image[92, 7]) == (31, 119, 180) and tuple(image[7, 92]) == (255, 127, 14)
    with pytest.raises(ValueError, match=r"shape \(n, 2\), got \(2, 3\)"):
        render_decision_boundary(Threshold(), np.zeros((2, 3)), np.array([0, 1]))
