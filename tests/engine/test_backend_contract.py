"""The contract every registered backend passes: output lines, exit codes, termination, environment, the
instance's directory. ``tests/ray`` runs the same tests against a Ray cluster (the ``backend`` fixture there)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sageforge.engine.backends import backend_names, create_backend
from sageforge.engine.backends.base import Backend, InstanceSpec
from sageforge.engine.errors import LaunchError, UnknownBackend
from sageforge.engine.instance_types import instance_resources
from tests.engine.support import TIMEOUT, eventually

_BASE_ENVIRONMENT = {"PATH": os.environ.get("PATH", ""), "PYTHONUNBUFFERED": "1"}


@pytest.fixture(params=[name for name in backend_names() if name != "ray"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    chosen = create_backend(request.param)
    yield chosen
    chosen.close()


def spec(directory: Path, code: str, **environment: str) -> InstanceSpec:
    return InstanceSpec(
        job_name="contract",
        host="algo-1",
        command=(sys.executable, "-c", code),
        environment={**_BASE_ENVIRONMENT, **environment},
        directory=directory,
        resources=instance_resources("ml.m5.large"),
    )


def test_lines_arrive_in_order_with_their_stream(backend: Backend, tmp_path: Path) -> None:
    code = "import sys\nfor i in range(50): print(f'line {i}')\nprint('oops', file=sys.stderr)"
    handle = backend.launch(spec(tmp_path, code))
    lines = list(handle.lines())
    assert [line.text for line in lines if line.stream == "stdout"] == [f"line {i}" for i in range(50)]
    assert [(line.text, line.stream) for line in lines if line.stream == "stderr"] == [("oops", "stderr")]
    assert all(line.at > 0 for line in lines)
    assert handle.wait(TIMEOUT) == 0


def test_lines_come_while_the_instance_runs(backend: Backend, tmp_path: Path) -> None:
    handle = backend.launch(spec(tmp_path, "import time\nprint('first')\ntime.sleep(60)"))
    lines = handle.lines()
    assert next(lines).text == "first"
    assert handle.wait(0) is None
    handle.terminate(grace_seconds=5)
    assert list(lines) == []
    assert handle.wait(TIMEOUT) == 128 + 15


@pytest.mark.parametrize("code", [0, 3, 255])
def test_exit_code(backend: Backend, tmp_path: Path, code: int) -> None:
    handle = backend.launch(spec(tmp_path, f"raise SystemExit({code})"))
    list(handle.lines())
    assert handle.wait(TIMEOUT) == code


def test_killed_by_a_signal_reports_128_plus_the_signal(backend: Backend, tmp_path: Path) -> None:
    handle = backend.launch(spec(tmp_path, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"))
    assert handle.wait(TIMEOUT) == 128 + 9


def test_terminate_sends_sigterm_first(backend: Backend, tmp_path: Path) -> None:
    code = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *_: (print('got SIGTERM', flush=True), sys.exit(7)))\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)"
    )
    handle = backend.launch(spec(tmp_path, code))
    lines = handle.lines()
    assert next(lines).text == "ready"
    handle.terminate(grace_seconds=30)
    assert [line.text for line in lines] == ["got SIGTERM"]
    assert handle.wait(TIMEOUT) == 7


def test_sigkill_after_the_grace_period_when_sigterm_is_ignored(backend: Backend, tmp_path: Path) -> None:
    code = (
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('ready', flush=True)\ntime.sleep(60)"
    )
    handle = backend.launch(spec(tmp_path, code))
    assert next(handle.lines()).text == "ready"
    handle.terminate(grace_seconds=0.2)
    assert handle.wait(TIMEOUT) == 128 + 9


def test_a_later_terminate_can_shorten_the_grace_period(backend: Backend, tmp_path: Path) -> None:
    code = (
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('ready', flush=True)\ntime.sleep(60)"
    )
    handle = backend.launch(spec(tmp_path, code))
    assert next(handle.lines()).text == "ready"
    handle.terminate(grace_seconds=600)
    assert handle.wait(0.2) is None
    handle.terminate(grace_seconds=0)
    assert handle.wait(TIMEOUT) == 128 + 9


def test_terminate_after_exit_is_harmless(backend: Backend, tmp_path: Path) -> None:
    handle = backend.launch(spec(tmp_path, "pass"))
    assert handle.wait(TIMEOUT) == 0
    handle.terminate(grace_seconds=0)
    assert handle.wait(TIMEOUT) == 0


def test_environment_is_exactly_the_specs(backend: Backend, tmp_path: Path) -> None:
    os.environ["SAGEFORGE_CONTRACT_LEAK"] = "leaked"
    try:
        code = "import os\nprint(os.environ.get('GIVEN'), os.environ.get('SAGEFORGE_CONTRACT_LEAK'))"
        handle = backend.launch(spec(tmp_path, code, GIVEN="given value"))
        assert [line.text for line in handle.lines()] == ["given value None"]
    finally:
        del os.environ["SAGEFORGE_CONTRACT_LEAK"]


def test_runs_in_the_instance_directory_and_leaves_its_outputs_there(backend: Backend, tmp_path: Path) -> None:
    (tmp_path / "input").mkdir()
    (tmp_path / "input" / "given.txt").write_text("given")
    (tmp_path / "stale.txt").write_text("removed by the instance")
    code = (
        "import os, pathlib\n"
        "print(pathlib.Path('input/given.txt').read_text(), os.environ['HOME_DIR'] == os.getcwd())\n"
        "pathlib.Path('model').mkdir()\n"
        "pathlib.Path('model/made.txt').write_text('made')\n"
        "os.remove('stale.txt')"
    )
    # A backend that runs the instance elsewhere rewrites the variables naming its directory.
    handle = backend.launch(spec(tmp_path, code, HOME_DIR=str(tmp_path)))
    assert [line.text for line in handle.lines()] == ["given True"]
    assert handle.wait(TIMEOUT) == 0
    assert (tmp_path / "model" / "made.txt").read_text() == "made"
    assert not (tmp_path / "stale.txt").exists()


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_terminate_stops_what_the_instance_started(backend: Backend, tmp_path: Path) -> None:
    code = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)"
    )
    handle = backend.launch(spec(tmp_path, code))
    child = int(next(handle.lines()).text)
    handle.terminate(grace_seconds=5)
    assert handle.wait(TIMEOUT) == 128 + 15
    eventually(lambda: not _alive(child))


def test_a_missing_command_is_a_launch_error(backend: Backend, tmp_path: Path) -> None:
    missing = InstanceSpec(
        "contract", "algo-1", ("/nonexistent/train",), _BASE_ENVIRONMENT, tmp_path, spec(tmp_path, "").resources
    )
    with pytest.raises(LaunchError, match="nonexistent"):
        backend.launch(missing)


def test_place_gives_every_host_an_address_and_a_port(backend: Backend) -> None:
    placement = backend.place("contract", ["algo-1", "algo-2"], instance_resources("ml.m5.large"))
    assert set(placement.addresses) == {"algo-1", "algo-2"}
    assert 0 < placement.collective_port < 65536


def test_unknown_backend_names_the_choices() -> None:
    with pytest.raises(UnknownBackend, match="local"):
        create_backend("quantum")


def _alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie waiting to be reaped."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status
