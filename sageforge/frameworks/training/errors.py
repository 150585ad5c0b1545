"""The toolkit's failures, worded as sagemaker-training-toolkit words them in ``output/failure``."""

from __future__ import annotations

from collections.abc import Sequence

# Exit status of a process the kernel killed with SIGKILL: the toolkit names it as running out of memory.
_SIGKILL_STATUS = 137


class ProcessFailure(Exception):
    """A process the toolkit ran exited non-zero. ``str()`` is the toolkit's message::

    ExecuteUserScriptError:
    ExitCode 1
    ErrorMessage "ValueError: bad learning rate"
    Command "/usr/bin/python3 train.py --lr 0.1"
    """

    def __init__(self, kind: str, exit_code: int, error_message: str, command: Sequence[str]) -> None:
        super().__init__(kind, exit_code, error_message)
        self.kind = kind  # ExecuteUserScriptError, InstallRequirementsError
        self.exit_code = exit_code
        self.error_message = error_message
        self.command = " ".join(command)

    def __str__(self) -> str:
        lines = [f"{self.kind}:", f"ExitCode {self.exit_code}", f'ErrorMessage "{self.error_message}"']
        if self.exit_code == _SIGKILL_STATUS:
            lines.append('ExtraInfo "OutOfMemory: Process killed by SIGKILL (signal 9)"')
        lines.append(f'Command "{self.command}"')
        return "\n".join(lines)
