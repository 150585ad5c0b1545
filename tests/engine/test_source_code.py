"""Script mode's source archive: the engine reads it from the object store and extracts it into every instance's
``code/`` before start; a missing or hostile archive fails the job with a ClientError and writes nothing."""

from __future__ import annotations

import io
import json
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

from sageforge.engine.training import TrainingEngine
from sageforge.engine.workload import S3Location, TrainingWorkload
from sageforge.store.objects.filesystem import FilesystemObjectStore
from tests.engine.support import RecordingListener, get, put, tar_members

MakeWorkload = Callable[..., TrainingWorkload]
# Copies the code folder (as the instance sees it) into the model, with each file's executable bit.
PROGRAM = """
import json, os, pathlib
base = pathlib.Path(os.environ["SAGEMAKER_BASE_DIR"])
code = base / "code"
seen = {p.relative_to(code).as_posix(): [p.read_text(), os.access(p, os.X_OK)] for p in code.rglob("*") if p.is_file()}
(base / "model" / f"code-{json.load(open(base / 'input/config/resourceconfig.json'))['current_host']}.json").write_text(json.dumps(seen))
"""


def archive(members: dict[str, tuple[bytes, int]], links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, (data, mode) in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return buffer.getvalue()


def run(engine: TrainingEngine, workload: TrainingWorkload) -> RecordingListener:
    listener = RecordingListener()
    engine.submit(workload, listener)
    listener.wait()
    return listener


def test_every_instance_gets_the_code_extracted(
    engine: TrainingEngine, objects: FilesystemObjectStore, make_workload: MakeWorkload, tmp_path: Path
) -> None:
    put(objects, "data", "train/a.csv", b"1\n")
    code = {"./run.py": (PROGRAM.encode(), 0o644), "pkg/tool.sh": (b"echo hi\n", 0o755)}
    put(objects, "src", "job/source/sourcedir.tar.gz", archive(code))
    workload = make_workload(
        instance_count=2,
        command=(sys.executable, "code/run.py"),
        source_code=S3Location("src", "job/source/sourcedir.tar.gz"),
    )
    outcome = run(engine, workload).wait()
    assert outcome.status == "Completed", outcome.failure_reason
    model = tar_members(get(objects, "models", f"out/{workload.job_name}/output/model.tar.gz"))
    for host in ("algo-1", "algo-2"):
        seen = json.loads(model[f"code-{host}.json"])
        assert seen == {"run.py": [PROGRAM, False], "pkg/tool.sh": ["echo hi\n", True]}


def test_a_missing_archive_fails_the_job(
    engine: TrainingEngine, objects: FilesystemObjectStore, make_workload: MakeWorkload
) -> None:
    put(objects, "data", "train/a.csv", b"1\n")
    put(objects, "src", "other", b"")
    workload = make_workload(source_code=S3Location("src", "job/source/sourcedir.tar.gz"))
    outcome = run(engine, workload).wait()
    assert outcome.status == "Failed"
    assert outcome.failure_reason == (
        'ClientError: The source code archive "s3://src/job/source/sourcedir.tar.gz" named by the '
        "sagemaker_submit_directory hyperparameter does not exist."
    )


def test_an_archive_reaching_outside_the_code_folder_fails_the_job(
    engine: TrainingEngine, objects: FilesystemObjectStore, make_workload: MakeWorkload, tmp_path: Path
) -> None:
    put(objects, "data", "train/a.csv", b"1\n")
    hostile = {
        "escape.tar.gz": archive({"ok.py": (b"", 0o644), "../../escaped.txt": (b"owned", 0o644)}),
        "link.tar.gz": archive({}, links={"train.py": "/etc/passwd"}),
    }
    for key, data in hostile.items():
        put(objects, "src", key, data)
        workload = make_workload(source_code=S3Location("src", key))
        outcome = run(engine, workload).wait()
        assert outcome.status == "Failed"
        assert outcome.failure_reason is not None
        assert outcome.failure_reason.startswith(f'ClientError: The source code archive "s3://src/{key}" holds ')
    assert not list(tmp_path.rglob("escaped.txt"))
