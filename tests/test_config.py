"""flowlab.config: RunConfig and the run names made of it."""

from flowlab.experiment import RunConfig, run_name


def test_run_names_are_readable_and_filesystem_safe():
    config = RunConfig(learning_rate=0.001, hidden=(64, 32), batch_size=None, activation="relu").validated()
    assert run_name(config, ["learning_rate", "hidden", "batch_size", "activation"]) == \
        "lr=0.001,hidden=64-32,batch=full,activation=relu"
    assert run_name(config, []) == "run"
