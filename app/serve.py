"""`python -m app serve`: uvicorn with workers = CPU count in production, settings from the environment."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile

from .settings import Settings


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .schema import MAX_MESSAGE_BYTES

    try:
        settings = Settings.from_env(host=args.host, port=args.port, workers=args.workers, device=args.device)
        if settings.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"--device must be auto, cpu or cuda, got {settings.device!r}")
        if not 1 <= settings.port <= 65535:
            raise ValueError(f"--port must be between 1 and 65535, got {settings.port}")
        if not 0 <= settings.workers <= 256:  # the same limits as the WORKERS variable
            raise ValueError(f"--workers must be between 0 and 256, got {settings.workers}")
        if settings.device == "cuda":
            from .model import resolve_device

            resolve_device("cuda")
    except ValueError as err:
        print(f"python -m app: error: {err}", file=sys.stderr)
        return 2
    workers = settings.resolved_workers()
    # worker processes rebuild the settings from the environment: pass every flag through it
    os.environ.update(HOST=settings.host, PORT=str(settings.port), WORKERS=str(workers), DEVICE=settings.device)
    registry = tempfile.mkdtemp(prefix="lse-sessions-")
    os.environ["LSE_REGISTRY_DIR"] = registry
    print(f"Label Smoothing Explorer on http://{settings.host}:{settings.port} "
          f"({workers} worker{'s' if workers > 1 else ''}, device {settings.device})", flush=True)
    try:
        uvicorn.run(
            "app.main:create_app_from_env",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=workers,
            ws_max_size=MAX_MESSAGE_BYTES + 1024,
            timeout_graceful_shutdown=3,
            log_level="warning",
        )
    finally:
        shutil.rmtree(registry, ignore_errors=True)
    return 0
