"""InvokeEndpoint throughput and p50/p99 latency for a one-instance XGBoost endpoint (one CSV row per request,
8 concurrent connections), against a bare Starlette + uvicorn app with one worker serving the same booster
(``bench/bare_app.py``), once predicting through a DMatrix and once in place as sageforge's replicas do.
Goal: at least 0.7x the bare app's throughput. Also against ``mlflow models serve`` on the same booster, what
peer users would otherwise pick (``bench/mlflow_serve.py``: the first run installs mlflow into
``bench/.data/mlflow-venv`` from the package registry -- never into sageforge's environment -- and the rows
are skipped with a line saying why when that cannot be done).

The load generator is wrk (``apt-get install -y wrk``) replaying one request: for sageforge, the request a
boto3 client signs with SigV4 (captured before it is sent; the server accepts a signature for 15 minutes).
"""

from __future__ import annotations

import io
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import xgboost
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from sklearn.datasets import load_breast_cancer

from bench import mlflow_serve
from bench.server import bench_server, report, wait_until_answering
from sageforge.ports import free_port

CONNECTIONS = 8
ROUNDS = 3
SECONDS = 6
WARMUP_SECONDS = 1
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
ROLE = "arn:aws:iam::000000000000:role/SageForgeRole"
# The references sageforge is measured against, in the table's order (mlflow's only when its environment exists).
REFERENCES = {
    "dmatrix": "bare, predict(DMatrix)",
    "inplace": "bare, inplace_predict",
    "mlflow": "mlflow models serve, JSON dataframe_split",
}


@dataclass(frozen=True)
class Replay:
    """One HTTP request for wrk to send again and again."""

    url: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Measure:
    requests_per_second: float
    p50_ms: float
    p99_ms: float


def run(work: Path) -> None:
    if shutil.which("wrk") is None:
        print("\n## InvokeEndpoint: skipped (wrk is not installed; apt-get install -y wrk)")
        return
    data = load_breast_cancer()
    booster = xgboost.train(
        {"objective": "binary:logistic", "max_depth": 4}, xgboost.DMatrix(data.data, data.target), 50
    )
    model_file = work / "invoke-model" / "xgboost-model.ubj"
    model_file.parent.mkdir(parents=True, exist_ok=True)
    booster.save_model(model_file)
    row = ",".join(repr(float(v)) for v in data.data[0]).encode()
    expected = str(float(booster.predict(xgboost.DMatrix(data.data[:1]))[0])).encode()
    try:
        mlflow_python: Path | None = mlflow_serve.environment(work)
    except mlflow_serve.Unavailable as error:
        print(f"\n## mlflow models serve: skipped: {error}")
        mlflow_python = None

    with ExitStack() as stack:
        server = stack.enter_context(bench_server(work / "server-invoke"))
        replays = {
            "sageforge": _deploy_and_sign(server, model_file, row, expected),
            "dmatrix": stack.enter_context(_bare_app(model_file, "dmatrix", row, expected)),
            "inplace": stack.enter_context(_bare_app(model_file, "inplace", row, expected)),
        }
        if mlflow_python is not None:
            request = mlflow_serve.dataframe_split(list(data.feature_names), [float(v) for v in data.data[0]])
            url = stack.enter_context(
                mlflow_serve.mlflow_server(mlflow_python, model_file, request, float(expected), work)
            )
            replays["mlflow"] = Replay(f"{url}/invocations", {"Content-Type": "application/json"}, request)
        results: dict[str, list[Measure]] = {name: [] for name in replays}
        # Rounds alternate between the servers, so a machine busy with something else weighs on all alike.
        for _ in range(ROUNDS):
            for name, replay in replays.items():
                results[name].append(measure(replay, work))
    medians = {name: _median(measures) for name, measures in results.items()}
    title = f"InvokeEndpoint, one CSV row, {CONNECTIONS} connections, median of {ROUNDS} x {SECONDS} s (goal: >= 0.7x)"
    report(title, _rows(medians))
    if "mlflow" in medians:
        ratio = medians["mlflow"].requests_per_second / medians["dmatrix"].requests_per_second
        print(f"mlflow models serve: {ratio:.2f}x the bare app's requests/s (predict(DMatrix))")


def _rows(medians: dict[str, Measure]) -> list[tuple[str, str, str, str]]:
    """Requests/s, p50 and p99 of sageforge against each reference measured, and their ratios."""
    ours = medians["sageforge"]
    rows = []
    for name, label in REFERENCES.items():
        if name not in medians:
            continue
        reference = medians[name]
        rows += [
            (
                "requests/s",
                f"{ours.requests_per_second:.0f}",
                f"{reference.requests_per_second:.0f} ({label})",
                f"{ours.requests_per_second / reference.requests_per_second:.2f}x",
            ),
            ("p50 ms", f"{ours.p50_ms:.2f}", f"{reference.p50_ms:.2f}", f"{ours.p50_ms / reference.p50_ms:.2f}x"),
            ("p99 ms", f"{ours.p99_ms:.2f}", f"{reference.p99_ms:.2f}", f"{ours.p99_ms / reference.p99_ms:.2f}x"),
        ]
    return rows


def _deploy_and_sign(server: Any, model_file: Path, row: bytes, expected: bytes) -> Replay:
    s3, sagemaker, runtime = server.client("s3"), server.client("sagemaker"), server.client("sagemaker-runtime")
    s3.create_bucket(Bucket="bench-invoke")
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        tar.add(model_file, arcname="xgboost-model")
    s3.put_object(Bucket="bench-invoke", Key="model.tar.gz", Body=archive.getvalue())
    sagemaker.create_model(
        ModelName="bench",
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": "s3://bench-invoke/model.tar.gz"},
        ExecutionRoleArn=ROLE,
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="bench",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "bench",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName="bench", EndpointConfigName="bench")
    while sagemaker.describe_endpoint(EndpointName="bench")["EndpointStatus"] == "Creating":
        time.sleep(0.1)
    answer = runtime.invoke_endpoint(EndpointName="bench", Body=row, ContentType="text/csv")["Body"].read()
    assert answer == expected, (answer, expected)

    return signed_invoke(runtime, "bench", row)


def signed_invoke(runtime: Any, endpoint: str, row: bytes) -> Replay:
    """The InvokeEndpoint request the client signs for ``row``, captured before it is sent, for wrk to replay."""
    captured: list[AWSPreparedRequest] = []

    def capture(request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        captured.append(request)
        return AWSResponse(request.url, 200, {}, None)

    runtime.meta.events.register("before-send", capture)
    try:
        runtime.invoke_endpoint(EndpointName=endpoint, Body=row, ContentType="text/csv", Accept="text/csv")
    except Exception:  # the canned response has no body to parse; the request is what was wanted
        pass
    finally:
        runtime.meta.events.unregister("before-send", capture)
    request = captured[0]
    # wrk writes Host and Content-Length itself.
    headers = {
        k: v.decode() if isinstance(v, bytes) else v
        for k, v in request.headers.items()
        if k.lower() not in ("host", "content-length")
    }
    return Replay(request.url, headers, request.body if isinstance(request.body, bytes) else row)


@contextmanager
def _bare_app(model_file: Path, mode: str, row: bytes, expected: bytes) -> Iterator[Replay]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "bench.bare_app", str(model_file), str(port), mode])
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{url}/ping", process)
        assert requests.post(f"{url}/invocations", data=row, timeout=5).content == expected
        yield Replay(f"{url}/invocations", {"Content-Type": "text/csv", "Accept": "text/csv"}, row)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _median(measures: list[Measure]) -> Measure:
    return Measure(
        statistics.median(m.requests_per_second for m in measures),
        statistics.median(m.p50_ms for m in measures),
        statistics.median(m.p99_ms for m in measures),
    )


def measure(replay: Replay, work: Path) -> Measure:
    script = work / "invoke.lua"
    headers = "".join(f'wrk.headers["{name}"] = "{value}"\n' for name, value in replay.headers.items())
    # A level-2 long string: a JSON body may hold "]]", which would end a plain [[...]] one.
    script.write_text(f'wrk.method = "POST"\nwrk.body = [==[{replay.body.decode()}]==]\n{headers}')
    command = ["wrk", "-t1", f"-c{CONNECTIONS}", "--latency", "-s", str(script), replay.url]
    subprocess.run([*command[:3], f"-d{WARMUP_SECONDS}s", *command[3:]], capture_output=True, check=True)
    output = subprocess.run([*command[:3], f"-d{SECONDS}s", *command[3:]], capture_output=True, text=True, check=True)
    text = output.stdout
    if "Non-2xx" in text or "Socket errors" in text:
        raise RuntimeError(f"the replayed request failed:\n{text}")
    return Measure(
        requests_per_second=float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),  # type: ignore[union-attr]
        p50_ms=_milliseconds(re.search(r"\s50%\s+([\d.]+\w+)", text).group(1)),  # type: ignore[union-attr]
        p99_ms=_milliseconds(re.search(r"\s99%\s+([\d.]+\w+)", text).group(1)),  # type: ignore[union-attr]
    )


def _milliseconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]
