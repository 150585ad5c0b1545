"""Script-mode handler discovery and the toolkit's request flow (``handler_service``), in-process."""

from __future__ import annotations

import json
import sys
import textwrap
import uuid
from pathlib import Path

import numpy as np
import pytest

from sageforge.frameworks.inference.defaults import NO_MODEL_FN
from sageforge.frameworks.inference.handler_service import Service
from sageforge.serving.runtime.contract import InferenceError


@pytest.fixture(autouse=True)
def _isolated_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))


def _service(tmp_path: Path, script: str, framework: str = "sklearn", **environment: str) -> Service:
    """Load ``script`` as a repacked model's ``code/`` script, the way the SDK's repack_model lays it out."""
    program = f"handlers_{uuid.uuid4().hex[:8]}.py"
    code = tmp_path / "model" / "code"
    code.mkdir(parents=True)
    (code / program).write_text(textwrap.dedent(script))
    return Service.load(
        str(tmp_path / "model"),
        {
            "SAGEMAKER_BASE_DIR": str(tmp_path),
            "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
            "SAGEMAKER_PROGRAM": program,
            "SAGEFORGE_FRAMEWORK": framework,
            **environment,
        },
    )


_DOUBLER = """
    class Doubler:
        def predict(self, data):
            return data * 2

    def model_fn(model_dir):
        return Doubler()
"""


def test_default_handlers_decode_predict_and_encode(tmp_path: Path) -> None:
    service = _service(tmp_path, _DOUBLER)
    assert service.transform(b"1,2\n3,4\n", "text/csv", "text/csv") == (b"2.0,4.0\n6.0,8.0\n", "text/csv")
    body, content_type = service.transform(b"[[1, 2]]", "application/json", "*/*")
    assert (json.loads(body), content_type) == ([[2.0, 4.0]], "application/json")


def test_default_accept_comes_from_the_environment(tmp_path: Path) -> None:
    service = _service(tmp_path, _DOUBLER, SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT="text/csv")
    assert service.transform(b"[1]", "application/json", "") == (b"2.0\n", "text/csv")


@pytest.mark.parametrize(
    ("content_type", "accept", "status"), [("image/png", "text/csv", 415), ("text/csv", "image/png", 406)]
)
def test_unsupported_types(tmp_path: Path, content_type: str, accept: str, status: int) -> None:
    service = _service(tmp_path, _DOUBLER)
    with pytest.raises(InferenceError) as raised:
        service.transform(b"1", content_type, accept)
    assert raised.value.status == status


def test_handlers_with_and_without_context(tmp_path: Path) -> None:
    service = _service(
        tmp_path,
        """
        import json

        def model_fn(model_dir, context):
            return {"dir": context.system_properties["model_dir"]}

        def input_fn(body, content_type, context):
            assert isinstance(body, str)  # JSON and CSV reach input_fn as text
            return json.loads(body), context.get_request_header(0, "accept")

        def predict_fn(data, model):
            return {"data": data[0], "accept": data[1], "dir": model["dir"]}

        def output_fn(prediction, accept, context):
            return json.dumps(prediction), "application/vnd+custom"
        """,
    )
    body, content_type = service.transform(b'{"x": 1}', "application/json", "application/vnd+custom")
    assert content_type == "application/vnd+custom"
    assert json.loads(body) == {"data": {"x": 1}, "accept": "application/vnd+custom", "dir": str(tmp_path / "model")}


def test_transform_fn_answers_alone(tmp_path: Path) -> None:
    service = _service(
        tmp_path,
        """
        def model_fn(model_dir):
            return b"!"

        def transform_fn(model, body, content_type, accept):
            return body + model
        """,
    )
    assert service.transform(b"\x00\x01", "application/octet-stream", "application/x-bytes") == (
        b"\x00\x01!",
        "application/x-bytes",
    )


def test_transform_fn_with_the_trio_is_a_load_failure(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Cannot use transform_fn implementation in conjunction with input_fn"):
        _service(
            tmp_path,
            """
            def model_fn(model_dir):
                return None

            def transform_fn(model, body, content_type, accept):
                return body

            def input_fn(body, content_type):
                return body
            """,
        )


def test_scikit_learn_has_no_default_model_fn(tmp_path: Path) -> None:
    with pytest.raises(NotImplementedError, match="Please provide a model_fn implementation"):
        _service(tmp_path, "def input_fn(body, content_type):\n    return body\n")
    assert "model_fn" in NO_MODEL_FN


def test_a_named_program_that_is_missing_is_a_load_failure(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    with pytest.raises(FileNotFoundError, match="missing.py"):
        Service.load(str(tmp_path / "model"), {"SAGEMAKER_PROGRAM": "missing.py", "SAGEFORGE_FRAMEWORK": "sklearn"})


def test_pytorch_defaults_run_a_torchscript_model_without_gradients(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    network = torch.nn.Linear(3, 2)
    (tmp_path / "model").mkdir()
    torch.jit.script(network).save(str(tmp_path / "model" / "model.pt"))
    service = Service.load(str(tmp_path / "model"), {"SAGEFORGE_FRAMEWORK": "pytorch"})  # no script at all
    rows = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 0.5]], dtype=np.float32)
    body, _ = service.transform(json.dumps(rows.tolist()).encode(), "application/json", "application/json")
    with torch.no_grad():
        expected = network(torch.from_numpy(rows)).numpy()
    np.testing.assert_allclose(json.loads(body), expected, rtol=1e-6)
