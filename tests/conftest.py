"""Test-session set-up shared by every test module."""

import os
import tempfile

# matplotlib keeps a font cache per user that may point at fonts of another, since
# deleted, environment; a cache of the session's own keeps the drawing tests honest.
os.environ.setdefault("MPLCONFIGDIR", tempfile.mkdtemp(prefix="kmodel-matplotlib-"))
