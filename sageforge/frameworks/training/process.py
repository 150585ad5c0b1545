"""Running a child process the toolkit's way: its stderr passes through to the log and, from the first line
that names a Python error on, is kept as the ``ErrorMessage`` of the failure (its end, where the toolkit
keeps all of it), or the last line written when none names an error."""

from __future__ import annotations

import builtins
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from sageforge.frameworks.training.errors import ProcessFailure

# The toolkit's list: every built-in exception name, and pip's wording for a bad requirement line.
_ERROR_NAMES = tuple(name for name in dir(builtins) if "Error" in name or "Exception" in name) + (
    "Invalid requirement",
)

# Within a FailureReason's 1024 characters, with the failure's other lines: the exception that ended the
# script (the last thing it wrote) must be in the job's FailureReason.
_KEPT_CHARS = 700


def run_process(command: Sequence[str], *, cwd: Path, env: Mapping[str, str], kind: str) -> None:
    """Run ``command`` to its end with stdout inherited; raise ``ProcessFailure`` (named ``kind``) on a
    non-zero exit, a failure to start included."""
    try:
        process = subprocess.Popen(list(command), cwd=cwd, env=dict(env), stderr=subprocess.PIPE)
    except OSError as error:
        raise ProcessFailure(kind, 1, str(error), command) from error
    assert process.stderr is not None
    kept: list[str] = []
    last = ""
    with process.stderr:
        for raw in process.stderr:
            line = raw.decode("utf-8", "replace")
            sys.stderr.write(line)
            sys.stderr.flush()
            text = line.strip(" :\n")
            if text:
                last = text
            if text and text not in kept and (kept or any(name in line for name in _ERROR_NAMES)):
                kept.append(text[-_KEPT_CHARS:])
                while sum(map(len, kept)) > _KEPT_CHARS:
                    kept.pop(0)
    code = process.wait()
    if code != 0:
        # A signal ends a process with a negative code here; a shell reports it as 128 + N.
        status = code if code > 0 else 128 - code
        raise ProcessFailure(kind, status, "\n".join(kept) or last[-_KEPT_CHARS:], command)
