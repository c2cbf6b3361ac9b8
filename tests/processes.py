"""Stopping the real processes the tests start: a signal once they are at work, and a stop that cannot hang."""

import signal
import subprocess
import time


def stop(process, timeout, sig=signal.SIGTERM):
    """Sends ``sig``, waits up to ``timeout`` seconds, then kills and reaps the process."""
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def sigterm_when(proc, ready, settle=2.0, timeout=60):
    """Waits (up to ``timeout`` s) until ``ready()`` holds, lets the work go on ``settle`` s more, sends
    SIGTERM and returns ``proc.communicate()``'s (stdout, stderr); the process is killed if it is still there."""
    try:
        deadline = time.time() + timeout
        while time.time() < deadline and not ready():
            time.sleep(0.2)
        time.sleep(settle)
        proc.send_signal(signal.SIGTERM)
        return proc.communicate(timeout=timeout)
    finally:
        proc.kill()
