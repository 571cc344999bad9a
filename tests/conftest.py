"""Test-session set-up shared by every test module."""

import contextlib
import os
import signal
import tempfile

import pytest

# matplotlib keeps a font cache per user that may point at fonts of another, since
# deleted, environment; a cache of the session's own keeps the drawing tests honest.
os.environ.setdefault("MPLCONFIGDIR", tempfile.mkdtemp(prefix="kmodel-matplotlib-"))


@pytest.fixture
def deadline():
    """`deadline(seconds)`: a context that fails the test, instead of hanging it, when
    its body runs longer than `seconds` (a SIGALRM interrupts even a blocking read)."""

    @contextlib.contextmanager
    def within(seconds: float):
        def expire(signum, frame):
            raise TimeoutError(f"still running after {seconds} s")

        previous = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    return within
