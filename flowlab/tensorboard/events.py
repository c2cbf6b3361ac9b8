"""Event files: TFRecord framing with masked CRC32C, written synchronously, one record per write."""

import os
import socket
import time
import uuid


class EventFile:
    """One TensorBoard event file, written synchronously by the calling thread.

    Records are framed exactly as tensorboardX's ``RecordWriter`` frames them (TFRecord: length,
    masked CRC32C of the length, the serialized ``Event``, masked CRC32C of the data), but each
    record is a single ``write()``, so a Ctrl-C between two Python statements never leaves half a
    record in the middle of the file; and there is no writer thread or queue (tensorboardX pickles
    every event through a multiprocessing queue to a thread), so a record costs microseconds.

    The name is ``events.out.tfevents.<time>.<host>.<pid>.<random>`` and the file is created
    exclusively: two writers in one directory never truncate each other's files (tensorboardX
    writers opened in the same second do: lanpa/tensorboardX#776).

    Args:
        logdir: the directory (a TensorBoard run); created if missing.
        flush_secs: after a write, hand buffered records to the OS if this many seconds passed
            since the last flush (0: after every write).
    """

    def __init__(self, logdir, flush_secs=5):
        from ..summaries import record

        self._record = record
        os.makedirs(logdir, exist_ok=True)
        self.flush_secs = flush_secs
        while True:
            name = (f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}."
                    f"{os.getpid()}.{uuid.uuid4().hex[:12]}")
            self.path = os.path.join(logdir, name)
            try:
                self._file = open(self.path, "xb")
                break
            except FileExistsError:  # pragma: no cover - a 48-bit random collision
                continue
        self._last_flush = time.monotonic()
        event = _event()
        event.file_version = "brain.Event:2"
        self.add_event(event)

    @property
    def closed(self):
        """Whether the file is closed."""
        return self._file.closed

    def add_event(self, event, step=None, walltime=None):
        """Appends an ``Event`` proto, setting its wall time (now, unless given) and step."""
        event.wall_time = time.time() if walltime is None else walltime
        if step is not None:
            event.step = int(step)
        self._file.write(self._record(event.SerializeToString()))
        if time.monotonic() - self._last_flush >= self.flush_secs:
            self.flush()

    def add_summary(self, summary, step=None, walltime=None):
        """Appends a ``Summary`` proto as one event at ``step``."""
        event = _event()
        event.summary.CopyFrom(summary)
        self.add_event(event, step, walltime)

    def add_scalar(self, tag, value, step):
        """Appends one scalar at ``step`` (what ``SummaryWriter.add_scalar`` writes)."""
        event = _event()
        event.summary.value.add(tag=tag, simple_value=float(value))
        self.add_event(event, step)

    def flush(self):
        """Hands buffered records to the OS: TensorBoard can read them from now on."""
        self._file.flush()
        self._last_flush = time.monotonic()

    def close(self):
        """Flushes and closes the file; safe to call again.

        No fsync: the records are in the OS's hands, which survives the process being interrupted
        or killed; only a machine crash can lose them, and fsyncing every run's three files costs
        milliseconds per run on a slow disk.
        """
        self._file.close()


# The Event proto class, loaded on first use: tensorboard's protos are not paid for at import.
_Event = None


def _event():
    """A new, empty ``Event`` proto (tensorboard's protos load on the first call, not at import)."""
    global _Event
    if _Event is None:
        from ..summaries import Event

        _Event = Event
    return _Event()
