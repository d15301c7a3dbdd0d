"""Every child process a test starts is waited for: a ledger of `subprocess.Popen` objects.

Python warns (`ResourceWarning: subprocess N is still running`) when a `Popen` is collected
before anyone waited for it, and `filterwarnings = error` turns that into a failure of
whichever test happens to be running when the garbage collector gets to it: a flake with the
wrong name on it. The ledger names the culprit instead. Each `Popen` remembers the test that
created it and where; a collected, never-waited `Popen` warns with that origin; and at the end
of the session every process still unreaped is listed as a failure of the session.
"""

import subprocess
import traceback
import warnings
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

_TESTS = Path(__file__).resolve().parent
_original_init: Callable[..., None] = subprocess.Popen.__init__
_original_del: Callable[..., None] = subprocess.Popen.__del__
_live: "weakref.WeakSet[subprocess.Popen[Any]]" = weakref.WeakSet()
_origins: "weakref.WeakKeyDictionary[subprocess.Popen[Any], str]" = weakref.WeakKeyDictionary()
current_test = "(no test: collection or session setup)"
current_markers: frozenset[str] = frozenset()


def _origin() -> str:
    """The running test and the innermost frames of the test code that started the process."""
    frames = [
        frame
        for frame in traceback.extract_stack()
        if frame.filename.startswith(str(_TESTS)) and not frame.filename.endswith("process_ledger.py")
    ]
    where = " <- ".join(f"{Path(frame.filename).name}:{frame.lineno}" for frame in reversed(frames[-3:]))
    return f"started in {current_test} at {where or 'a library'}"


def _recording_init(self: "subprocess.Popen[Any]", *args: Any, **kwargs: Any) -> None:
    _original_init(self, *args, **kwargs)
    _live.add(self)
    _origins[self] = _origin()


def _naming_del(self: "subprocess.Popen[Any]", *args: Any, **kwargs: Any) -> None:
    try:
        if getattr(self, "_child_created", False) and self.returncode is None:
            origin = _origins.get(self, "started at an unknown place")
            # Said before the standard warning, which names neither the test nor the line.
            warnings.warn(
                f"subprocess {self.pid} was never waited for; {origin}", ResourceWarning, stacklevel=1
            )
    finally:
        _original_del(self, *args, **kwargs)


def install() -> None:
    """Record every `Popen` from now on."""
    subprocess.Popen.__init__ = _recording_init  # type: ignore[method-assign]
    subprocess.Popen.__del__ = _naming_del  # type: ignore[method-assign]


def unreaped() -> list[str]:
    """The processes that were started and never waited for, each with its origin."""
    return [
        f"pid {process.pid}: {_origins.get(process, '?')}"
        for process in list(_live)
        if getattr(process, "_child_created", False) and process.returncode is None
    ]


def require_e2e(what: str) -> None:
    """Fail the running test unless it is marked `e2e`: every test that starts a server is."""
    if current_test.startswith("(") or "e2e" in current_markers:
        return
    raise AssertionError(
        f"{current_test} starts {what} but is not marked e2e: mark the test, its module or its "
        "fixture param with @pytest.mark.e2e, or list its server fixture in SERVER_FIXTURES "
        "(tests/conftest.py)"
    )
