"""The reference of ``bench/invoke.py``: what a user would write without sageforge -- a bare Starlette app on
uvicorn, one worker, answering ``POST /invocations`` with the booster's predictions for CSV rows.

``python -m bench.bare_app MODEL_FILE PORT [dmatrix|inplace]``: predict through a DMatrix (what most code
does), or in place (``Booster.inplace_predict``, the cheaper path sageforge's replicas take for tree models).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import uvicorn
import xgboost
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def build(model_file: str, mode: str) -> Starlette:
    booster = xgboost.Booster(model_file=model_file)
    # One thread per prediction (and per DMatrix), as the SageMaker container sets it: OpenMP threads spinning
    # between one-row predictions would make this reference fifty times slower on a small machine.
    booster.set_param("nthread", "1")
    predict: Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float32]] = (
        booster.inplace_predict if mode == "inplace" else lambda rows: booster.predict(xgboost.DMatrix(rows, nthread=1))
    )

    async def invocations(request: Request) -> Response:
        body = await request.body()
        rows = np.array([line.split(",") for line in body.decode().splitlines() if line], dtype=np.float64)
        return Response(",".join(map(str, predict(rows).tolist())), media_type="text/csv")

    async def ping(_: Request) -> Response:
        return Response()

    return Starlette(routes=[Route("/invocations", invocations, methods=["POST"]), Route("/ping", ping)])


if __name__ == "__main__":
    app = build(sys.argv[1], sys.argv[3] if len(sys.argv) > 3 else "dmatrix")
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), workers=1, log_level="warning")
