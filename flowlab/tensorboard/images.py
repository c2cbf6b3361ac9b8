"""Images for TensorBoard: the decision boundary of a classifier over 2-D data, drawn with numpy."""

import numpy as np


# tab10, matplotlib's default colors: class k is drawn in _PALETTE[k % 10].
_PALETTE = np.array([
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
], dtype=np.float64)


def _image_value(tag, image):
    """An image summary value of an HWC uint8 RGB array, encoded as PNG (Pillow)."""
    from ..summaries import image_value

    return image_value(tag, image)


def render_decision_boundary(model, x, y, size=192, grid=64, max_points=2000):
    """Draws a classifier's decision regions over 2-D data as an RGB image, with numpy only.

    The background is ``model.predict_proba`` (or ``model.predict``) on a ``grid`` x ``grid``
    lattice over the data's bounding box plus a margin, colored by class and paler where the model
    is less sure, scaled to ``size`` pixels. The points go on top in their true class color, with
    a dark rim, so misclassified points stand out. The y axis points up.

    Args:
        model: anything with ``predict_proba(x)`` (n, classes) or ``predict(x)`` (class ids).
        x: points, shape (n, 2).
        y: their class ids, shape (n,).
        size: side of the image in pixels.
        grid: side of the lattice the model is evaluated on (grid**2 points).
        max_points: draw at most this many points (evenly spaced through ``x``).

    Returns:
        A (size, size, 3) uint8 array (HWC), or None when the model's outputs are not finite.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y).ravel().astype(np.int64)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"render_decision_boundary: x must have shape (n, 2), got {x.shape}")
    if len(y) != len(x):
        raise ValueError(f"render_decision_boundary: x has {len(x)} points but y has {len(y)} labels")
    lo, hi = x.min(axis=0), x.max(axis=0)
    pad = np.where(hi > lo, 0.08 * (hi - lo), 1.0)
    lo, hi = lo - pad, hi + pad
    lattice = np.column_stack([np.tile(np.linspace(lo[0], hi[0], grid), grid),
                               np.repeat(np.linspace(hi[1], lo[1], grid), grid)])  # row 0 at the top
    lattice = lattice.astype(getattr(model, "dtype", None) or np.float64)
    if hasattr(model, "predict_proba"):
        proba = np.asarray(model.predict_proba(lattice), dtype=np.float64)
        if not np.isfinite(proba).all():
            return None
        k = max(proba.shape[1], 2)
        classes = proba.argmax(axis=1)
        sure = np.clip((proba.max(axis=1) - 1.0 / k) / (1.0 - 1.0 / k), 0.0, 1.0)
    else:
        classes = np.asarray(model.predict(lattice)).ravel().astype(np.int64)
        sure = np.ones(len(classes))
    alpha = (0.2 + 0.45 * sure)[:, None]
    background = (255.0 - alpha * (255.0 - _PALETTE[classes % len(_PALETTE)])).astype(np.uint8)
    pixel = np.arange(size) * grid // size
    image = background.reshape(grid, grid, 3)[pixel][:, pixel]

    if len(x) > max_points:
        keep = np.linspace(0, len(x) - 1, max_points).astype(np.int64)
        x, y = x[keep], y[keep]
    px = np.rint((x[:, 0] - lo[0]) / (hi[0] - lo[0]) * (size - 1)).astype(np.int64)
    py = np.rint((hi[1] - x[:, 1]) / (hi[1] - lo[1]) * (size - 1)).astype(np.int64)
    radius = max(2, size // 96)
    for r, colors in ((radius + 1, np.full((len(y), 3), 40.0)), (radius, _PALETTE[y % len(_PALETTE)])):
        dy, dx = np.mgrid[-r:r + 1, -r:r + 1]
        disc = dx * dx + dy * dy <= r * r + r
        rows = np.clip(py[:, None] + dy[disc], 0, size - 1)
        cols = np.clip(px[:, None] + dx[disc], 0, size - 1)
        image[rows, cols] = colors[:, None, :].astype(np.uint8)
    return image
