"""flowlab.loop_logger: LoopLogger logs a hand-written MiniFlow loop: trainables found in the sorted graph and
named after the script's variables, the lesson's cost order, and a run folder it will not write over."""

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import STORE_EVERYTHING_SIZE_GUIDANCE, EventAccumulator

import flowlab.miniflow as mf


def test_loop_logger_finds_trainables_in_a_sorted_graph_and_names_them_after_the_variables(tmp_path):
    from flowlab import LoopLogger

    X, y, W1, b1, W2, b2 = (mf.Input() for _ in range(6))
    rng = np.random.default_rng(0)
    W1.value, b1.value, W2.value, b2.value = rng.normal(size=(3, 4)), np.zeros(4), rng.normal(size=(4, 1)), np.zeros(1)
    out = mf.Linear(mf.Sigmoid(mf.Linear(X, W1, b1)), W2, b2)
    mf.MSE(y, out)
    graph = mf.topological_sort({X: rng.normal(size=(5, 3)), y: rng.normal(size=5)})
    with LoopLogger(tmp_path / "loop", graph=graph, flush_secs=0) as log:
        for epoch in range(3):
            mf.forward_and_backward(graph)
            mf.sgd_update(log.model.params, learning_rate=0.1)
            log.log(epoch, graph[-1].value, val_loss=2 * graph[-1].value)
    assert log.model.params == [W1, b1, W2, b2] and [p.name for p in log.model.params] == ["W1", "b1", "W2", "b2"]
    train = EventAccumulator(str(tmp_path / "loop" / "train"), size_guidance=STORE_EVERYTHING_SIZE_GUIDANCE).Reload()
    assert [e.step for e in train.Scalars("epoch_loss")] == [0, 1, 2]
    assert {"weights/W1", "gradients/b2"} <= set(train.Tags()["histograms"])
    last = train.Histograms("weights/W2")[-1].histogram_value
    assert last.num == 4 and last.max == pytest.approx(W2.value.max())
    val = EventAccumulator(str(tmp_path / "loop" / "validation")).Reload().Scalars("epoch_loss")
    assert val[-1].value == pytest.approx(2 * train.Scalars("epoch_loss")[-1].value)


def test_loop_logger_with_the_lessons_cost_order_does_not_train_the_labels(tmp_path):
    from flowlab import LoopLogger

    X, y, W1, b1, W2, b2 = (mf.Input() for _ in range(6))
    rng = np.random.default_rng(0)
    W1.value, b1.value, W2.value, b2.value = rng.normal(size=(3, 4)), np.zeros(4), rng.normal(size=(4, 1)), np.zeros(1)
    l2 = mf.Linear(mf.Sigmoid(mf.Linear(X, W1, b1)), W2, b2)
    mf.MSE(l2, y)  # the lesson's argument order: prediction first
    feed_dict = {X: rng.normal(size=(5, 3)), y: rng.normal(size=5)}
    graph = mf.topological_sort(feed_dict)
    for i, kwargs in enumerate(({}, {"feed_dict": feed_dict}, {"feed_dict": [X, y]})):
        log = LoopLogger(tmp_path / f"loop{i}", graph=graph, flush_secs=0, **kwargs)
        assert log.model.params == [W1, b1, W2, b2]
        log.close()
    # The data Inputs carry the script's names into the graph, as Model's do.
    assert (X.name, y.name) == ("X", "y")
    graph_nodes = EventAccumulator(str(tmp_path / "loop0" / "train")).Reload().Graph().node
    assert {"X", "y"} <= {n.name.split("/")[-1] for n in graph_nodes} | {n.name for n in graph_nodes}


def test_loop_logger_refuses_a_run_folder_that_holds_a_run_unless_told_to_append(tmp_path):
    from flowlab import LoopLogger

    W = mf.Input()
    W.value = np.zeros(2)
    with LoopLogger(tmp_path / "run", [W], flush_secs=0) as log:
        log.log(0, 1.0)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(ValueError, match=r"run already holds a run's event files .*its own folder.*append=True"):
        LoopLogger(tmp_path / "run", [W])
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # nothing written
    with LoopLogger(tmp_path / "run", [W], flush_secs=0, append=True) as log:
        log.log(1, 0.5)
    steps = [e.step for e in EventAccumulator(str(tmp_path / "run" / "train")).Reload().Scalars("epoch_loss")]
    assert sorted(steps) == [0, 1]  # two event files, one per logger


@pytest.mark.parametrize("sizes", [(6, 2), (6, 4)], ids=["same total", "new total"])
def test_a_trainable_that_changes_size_gets_histograms_of_its_new_values(tmp_path, sizes):
    from flowlab import LoopLogger

    W, b = mf.Input(), mf.Input()
    rng = np.random.default_rng(5)
    W.value, b.value = rng.normal(size=4), rng.normal(size=4)
    seen = []
    with LoopLogger(tmp_path / "run", [W, b], flush_secs=600) as log:  # epochs pend until the end
        for epoch in range(4):
            if epoch == 2:  # W grows, b shrinks (or not): the epochs before are summarised with the old layout
                W.value, b.value = rng.normal(size=sizes[0]), rng.normal(size=sizes[1])
            else:
                W.value, b.value = W.value + rng.normal(size=W.value.shape), b.value * 0.5
            seen.append({"W": W.value.copy(), "b": b.value.copy()})
            log.log(epoch, 1.0 / (epoch + 1))
    train = EventAccumulator(str(tmp_path / "run" / "train"), size_guidance=STORE_EVERYTHING_SIZE_GUIDANCE).Reload()
    for name in ("W", "b"):
        events = train.Histograms(f"weights/{name}")
        assert [e.step for e in events] == [0, 1, 2, 3]
        for event, values in zip(events, seen):
            h, v = event.histogram_value, values[name]
            assert (h.num, h.min, h.max) == (v.size, v.min(), v.max())
            np.testing.assert_array_equal(h.bucket, np.histogram(v, bins=np.array([h.min, *h.bucket_limit]))[0])
        # Epoch 0's ratio is against the weights the logger started with; the epoch of the change has
        # none: its weights are not those of the epoch before.
        assert [e.step for e in train.Scalars(f"update_ratio/{name}")] == [0, 1, 3]
