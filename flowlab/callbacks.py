"""The training callback protocol: Keras-shaped hooks that the Trainer calls."""

__all__ = ["Callback"]


class Callback:
    """Base class for training callbacks; every hook is a no-op.

    ``self.trainer`` is set before ``on_train_begin``. A callback stops training by setting
    ``self.trainer.stop = True``. ``on_train_end`` is always called, however the run ended, and
    its ``logs["status"]`` (the same as ``trainer.status``) says how: a ``flowlab.status.RunStatus``,
    decided by the trainer, which a callback reads rather than works out.
    """

    trainer = None

    def on_train_begin(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_batch_end(self, batch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass
