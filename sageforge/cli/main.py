"""``sageforge serve | demo | coverage``: the command-line front-end."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from sageforge.settings import Settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="sageforge", description="A self-hosted server for the SageMaker API.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve every API on one port until interrupted")
    serve.add_argument("--host", help="address to listen on (SAGEFORGE_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (SAGEFORGE_PORT, default 8686)")
    serve.add_argument("--data-dir", type=Path, help="where data lives (SAGEFORGE_DATA_DIR, default ~/.sageforge)")
    serve.add_argument("--database-url", help="SQLAlchemy URL, e.g. postgresql+psycopg://... (default: SQLite)")
    serve.add_argument("--backend", help="engine backend running workloads (SAGEFORGE_BACKEND, default local)")
    serve.add_argument("--log-level", help="server log level (SAGEFORGE_LOG_LEVEL, default INFO)")

    demo = commands.add_parser("demo", help="start a server and run an end-to-end example through boto3")
    demo.add_argument("--data-dir", type=Path, default=Path(".demo-data"), help="data dir of the demo server")

    commands.add_parser("coverage", help="print which operations of each served API are implemented (Markdown)")

    args = parser.parse_args(argv)
    if args.command == "coverage":
        from sageforge.cli.coverage import coverage_markdown

        print(coverage_markdown(), end="")
    elif args.command == "serve":
        settings = Settings.from_env(
            host=args.host,
            port=args.port,
            data_dir=args.data_dir,
            database_url=args.database_url,
            backend=args.backend,
            log_level=args.log_level,
        )
        _serve(settings)
    else:
        from sageforge.cli.demo import run_demo

        run_demo(args.data_dir)


def _serve(settings: Settings) -> None:
    import uvicorn

    from sageforge.app import create_app

    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # uvicorn handles SIGINT/SIGTERM: it stops accepting, finishes requests in flight, then runs the
    # lifespan shutdown, which stops running workloads.
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")
