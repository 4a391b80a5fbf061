# Label Smoothing Explorer: one image that serves the page and the live training sessions.
#
#   docker build -t label-smoothing-explorer .                  CPU torch (default, smallest)
#   docker build --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu124 \
#                -t label-smoothing-explorer:gpu .              CUDA torch (run with --gpus all, DEVICE=cuda)
#   docker build --build-arg TORCH_INDEX_URL= -t label-smoothing-explorer .
#                                                               torch from pip's default index (offline
#                                                               mirrors, or machines with a local wheel)
#   docker run -p 8000:8000 label-smoothing-explorer            then open http://localhost:8000
FROM python:3.11-slim

# Where torch comes from: the PyTorch CPU wheel index by default (a plain `pip install torch` on Linux
# pulls a multi-GB CUDA build). Empty: pip's default index and configuration.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# 1. torch alone, first: the largest layer, reused as long as the index does not change. What only
#    serves building and testing torch itself is dropped: its C++ headers (include/, ~60 MB; the image
#    has no compiler), its C++ test programs (test/, ~83 MB) and the test programs and protoc in bin/
#    (~45 MB; torch_shm_manager stays).
RUN if [ -n "$TORCH_INDEX_URL" ]; then \
        pip install --no-cache-dir --index-url "$TORCH_INDEX_URL" "torch>=2.2,<3"; \
    else \
        pip install --no-cache-dir "torch>=2.2,<3"; \
    fi \
 && cd "$(python -c 'import os, torch; print(os.path.dirname(torch.__file__))')" \
 && rm -rf include test \
 && find bin -type f ! -name torch_shm_manager -delete

WORKDIR /srv/app

# 2. The project's other dependencies, reused while pyproject.toml does not change: install the project
#    from a stub package, then remove the project itself (its dependencies stay). Only what the server
#    runs: scikit-learn (and scipy) and plotly are test and report extras; the datasets ship in the
#    package (app/engine/tables.npz).
COPY pyproject.toml README.md ./
RUN mkdir app && touch app/__init__.py \
 && pip install --no-cache-dir . \
 && pip uninstall -y -q label-smoothing-explorer \
 && rm -rf app build *.egg-info

# 3. The project. It runs from /srv/app, where it finds static/ and templates/ beside the package.
COPY app/ app/
COPY static/ static/
COPY templates/ templates/
RUN pip install --no-cache-dir --no-deps . \
 && rm -rf build *.egg-info \
 && groupadd --system app \
 && useradd --system --gid app --create-home --home-dir /home/app --shell /usr/sbin/nologin app \
 && mkdir /state && chown app:app /state

# Defaults, all overridable with -e / compose `environment:`.
#   WORKERS       uvicorn worker processes; empty = one per CPU
#   MAX_SESSIONS  open sessions across all workers; newcomers beyond it are asked to wait
#   FPS_CAP       frames per second per session, at most
#   ACCESS_CODE   when set, the page and the WebSocket need it (share http://HOST:8000/?token=CODE)
#   HOST_CODE     when set, the room page /host and /api/room need it (open /host?code=CODE once);
#                 unset, only a browser on the machine itself may see them, never one through Docker's port
#   DEVICE        auto | cpu | cuda
#   IDLE_TIMEOUT  seconds without client activity before a session is closed
#   MAX_STEPS_PER_SECOND  per-session training rate cap, so one attendee cannot starve the others
#   DIAGNOSE_MAX_MB  the largest network file /diagnose reads (its upload, and its arrays unpacked), in MB
#   ROOM_MBPS     the room's network budget for every frame sent, Mbit/s; 0: no cap
#   STATE_DIR     where the room's state lives (sessions, the lesson's step, answers): mount a volume there
#   PUBLIC_URL    the address attendees open (http://ADDRESS:8000): inside Docker the server cannot see it
#   LESSONS_DIR   a folder of lesson files of one's own, beside the built-in ones
#   REDIS_URL     the room's state in Redis (redis://HOST:6379/0): every replica one room; empty: STATE_DIR
#   DRAIN_SECONDS on SIGTERM, seconds a replica keeps its attendees before sending them to another one
ENV WORKERS="" \
    MAX_SESSIONS=60 \
    FPS_CAP=30 \
    ACCESS_CODE="" \
    HOST_CODE="" \
    DEVICE=auto \
    IDLE_TIMEOUT=900 \
    MAX_STEPS_PER_SECOND=2000 \
    DIAGNOSE_MAX_MB=200 \
    ROOM_MBPS=0 \
    STATE_DIR=/state \
    PUBLIC_URL="" \
    LESSONS_DIR="" \
    REDIS_URL="" \
    DRAIN_SECONDS=20

USER app
EXPOSE 8000

# The slim image has no curl: ask /healthz with the standard library.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]

CMD ["python", "-m", "app", "serve", "--host", "0.0.0.0", "--port", "8000"]
