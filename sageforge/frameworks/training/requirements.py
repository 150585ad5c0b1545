"""A job's ``requirements.txt`` installed into a Python environment of its own, cached by the file's content.

The environment is a virtual environment under the cache folder, named by the SHA-256 of ``requirements.txt``,
that also sees every package of the interpreter running the toolkit (a ``.pth`` file adds its site folders
after the environment's own). pip therefore counts an already-installed package as satisfied without
downloading anything, installs only what is missing or pinned differently, and never changes the server's
own environment. A second job with the same file reuses the environment; a file lock keeps two jobs from
building it at once, and a marker written last keeps a half-built one from being used.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import site
import sysconfig
import venv
from collections.abc import Mapping
from pathlib import Path

from sageforge.frameworks.training.process import run_process

_READY_MARKER = ".sageforge-ready"
# Where the platform has environments cached across jobs and replicas; without it, inside the instance.
CACHE_VARIABLE = "SAGEFORGE_PYTHON_ENVIRONMENTS"


def cache_folder(env: Mapping[str, str], base: Path) -> Path:
    """The folder environments are cached in: ``$SAGEFORGE_PYTHON_ENVIRONMENTS``, else ``base``'s own."""
    return Path(env.get(CACHE_VARIABLE) or base / "python-environments")


def environment_for(requirements: Path, cache: Path, env: Mapping[str, str]) -> Path:
    """The Python interpreter of the environment with ``requirements`` installed, built on first use.

    pip runs in the folder holding ``requirements`` (relative paths in it resolve there) with ``env``; a failed
    install raises ``ProcessFailure`` (``InstallRequirementsError``) and leaves no environment behind.
    """
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:16]
    folder = cache / digest
    python = folder / "bin" / "python"
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / f"{digest}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (folder / _READY_MARKER).exists():
            print(f"Reusing the Python environment of requirements.txt (sha256 {digest}...)", flush=True)
            return python
        shutil.rmtree(folder, ignore_errors=True)
        venv.EnvBuilder(symlinks=True, with_pip=False).create(folder)
        _inherit_packages(folder)
        command = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-r", str(requirements)]
        print(f"Installing requirements.txt: {' '.join(command)}", flush=True)
        try:
            run_process(command, cwd=requirements.parent, env=env, kind="InstallRequirementsError")
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        (folder / _READY_MARKER).touch()
    return python


def _inherit_packages(folder: Path) -> None:
    """Make the running interpreter's packages (and their own ``.pth`` files) visible in ``folder``'s env."""
    scheme = sysconfig.get_paths(vars={"base": str(folder), "platbase": str(folder)})
    own = Path(scheme["purelib"])
    running = sysconfig.get_paths()
    parents = dict.fromkeys([*site.getsitepackages(), running["purelib"], running["platlib"]])
    lines = [f"import site; site.addsitedir({path!r})" for path in parents if Path(path).is_dir()]
    own.mkdir(parents=True, exist_ok=True)
    (own / "_sageforge_inherited.pth").write_text("\n".join(lines) + "\n", encoding="utf-8")
