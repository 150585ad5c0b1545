"""``sageforge serve | env | demo | coverage``: the command-line front-end."""

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
    serve.add_argument("--ray-address", help="the Ray cluster of --backend ray, host:port (SAGEFORGE_RAY_ADDRESS)")
    serve.add_argument(
        "--ray-instance-types", help="JSON file: what each instance type asks Ray for (SAGEFORGE_RAY_INSTANCE_TYPES)"
    )
    serve.add_argument(
        "--object-store", help='where objects live: "s3://" = a remote S3-compatible store (default: the data dir)'
    )
    serve.add_argument("--object-store-endpoint-url", help="URL of the --object-store s3:// endpoint (default: AWS)")
    serve.add_argument("--log-level", help="server log level (SAGEFORGE_LOG_LEVEL, default INFO)")

    env = commands.add_parser(
        "env",
        help="print shell exports for AWS clients and write the SageMaker SDK's config for this server",
        description='Use as: eval "$(sageforge env)". The server address and credentials come from the same '
        "SAGEFORGE_* variables as `sageforge serve`.",
    )
    env.add_argument("--endpoint-url", help="the server's URL (default: from SAGEFORGE_HOST / SAGEFORGE_PORT)")
    env.add_argument("--region", default="us-east-1", help="AWS_DEFAULT_REGION to export (default us-east-1)")
    env.add_argument("--bucket", help="the SDK's default bucket (default sagemaker-<region>-<account>)")
    env.add_argument(
        "--sdk-config", type=Path, help="SageMaker SDK config file to write (default ~/.config/sagemaker/config.yaml)"
    )
    env.add_argument("--force", action="store_true", help="replace an existing SDK config file")

    demo = commands.add_parser("demo", help="start a server and run an end-to-end example through boto3")
    demo.add_argument("--data-dir", type=Path, default=Path(".demo-data"), help="data dir of the demo server")

    commands.add_parser("coverage", help="print which operations of each served API are implemented (Markdown)")

    args = parser.parse_args(argv)
    if args.command == "coverage":
        from sageforge.cli.coverage import coverage_markdown

        print(coverage_markdown(), end="")
    elif args.command == "env":
        from sageforge.cli.env import run_env

        code = run_env(
            Settings.from_env(),
            endpoint_url=args.endpoint_url,
            region=args.region,
            bucket=args.bucket,
            config=args.sdk_config,
            force=args.force,
        )
        if code:
            raise SystemExit(code)
    elif args.command == "serve":
        settings = Settings.from_env(
            host=args.host,
            port=args.port,
            data_dir=args.data_dir,
            database_url=args.database_url,
            backend=args.backend,
            ray_address=args.ray_address,
            ray_instance_types=args.ray_instance_types,
            object_store=args.object_store,
            object_store_endpoint_url=args.object_store_endpoint_url,
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
