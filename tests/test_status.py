"""One status vocabulary: every module speaks flowlab.status, and what it writes stays the plain strings."""

import csv
import io
import json
import tokenize
from pathlib import Path

import numpy as np

import flowlab
from flowlab import dashboards, experiment, status, train
from flowlab import tensorboard as tb
from flowlab.status import FINISHED, INTERRUPTED_MESSAGE, SESSION_STATUS, STATUSES, SUCCEEDED, RunStatus
from flowlab.tensorboard import logger

PLAIN = ("completed", "early_stopped", "diverged", "failed", "interrupted")


def test_the_old_names_are_the_one_vocabulary():
    assert STATUSES == PLAIN
    assert train.STATUSES is STATUSES and dashboards.STATUS_VALUES is STATUSES
    assert experiment.FINISHED is FINISHED == ("completed", "early_stopped", "diverged")
    assert SUCCEEDED == ("completed", "early_stopped")
    assert tb.SESSION_STATUS is SESSION_STATUS and logger.SESSION_STATUS is SESSION_STATUS
    assert SESSION_STATUS == {"completed": "STATUS_SUCCESS", "early_stopped": "STATUS_SUCCESS",
                              "diverged": "STATUS_FAILURE", "failed": "STATUS_FAILURE",
                              "interrupted": "STATUS_FAILURE"}
    assert all(type(s) is str for s in (*STATUSES, *FINISHED, *SUCCEEDED, *SESSION_STATUS))


def test_a_member_writes_and_looks_up_as_its_plain_string():
    for member, plain in zip(RunStatus, PLAIN):
        assert member == plain and hash(member) == hash(plain)
        assert {plain: 1}[member] == 1 and SESSION_STATUS[member] == SESSION_STATUS[plain]
        assert f"{member}|{member:<14}|{member!s}" == f"{plain}|{plain:<14}|{plain}"
        assert "%s" % member == plain and json.dumps({"s": member}) == json.dumps({"s": plain})
        out = io.StringIO()
        csv.writer(out).writerow([member])
        assert out.getvalue() == plain + "\r\n"
        assert member.finished == (plain in FINISHED) and member.succeeded == (plain in SUCCEEDED)


def test_no_module_spells_a_status_of_its_own():
    # Every string token in flowlab's code that is exactly a status: only status.py may hold one.
    root = Path(flowlab.__file__).parent
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.name == "status.py":
            continue
        with path.open("rb") as f:
            for tok in tokenize.tokenize(f.readline):
                if tok.type == tokenize.STRING and tok.string.strip("\"'") in PLAIN \
                        and tok.string[0] in "\"'" and len(tok.string) == len(tok.string.strip("\"'")) + 2:
                    found.append(f"{path.relative_to(root)}:{tok.start[0]} {tok.string}")
    assert not found, found


def test_an_interrupted_fit_says_so_in_the_one_wording():
    class Stop(train.Callback):
        def on_epoch_end(self, epoch, logs):
            raise KeyboardInterrupt

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 4)), rng.integers(0, 2, 16)
    from flowlab.models import MLP

    trainer = train.Trainer(MLP([4, 3, 2], seed=0), "sgd", lr=0.1, callbacks=[Stop()])
    try:
        trainer.fit(x, y, epochs=2, batch_size=8)
    except KeyboardInterrupt:
        pass
    assert trainer.status is RunStatus.INTERRUPTED and trainer.error == INTERRUPTED_MESSAGE
    assert status.INTERRUPTED_MESSAGE != status.INTERRUPTED_QUEUED_MESSAGE
