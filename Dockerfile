# syntax=docker/dockerfile:1
#
# The aiperf-mock-server image. The wheel is built in a first stage and installed with the
# media extra into a virtualenv of a slim Python; the server runs as a non-root user and
# listens on 0.0.0.0:8000. It is configured only through MOCK_SERVER_* variables
# (docs/configuration.md), e.g.
#
#   docker build -t aiperf-mock-server:latest .
#   docker run --rm -p 8000:8000 -e MOCK_SERVER_TTFT=0 -e MOCK_SERVER_ITL=0 aiperf-mock-server:latest
#
# deploy/kubernetes/ runs this image with the same contract (port, probes, variables), and
# tests/deploy/ checks both against this file and runs its build steps.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG WHEEL_DIR=/wheels
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src/ src/
RUN python -m pip wheel --no-cache-dir --no-deps --wheel-dir "$WHEEL_DIR" .

FROM ${PYTHON_IMAGE} AS runtime
ARG WHEEL_DIR=/wheels
ENV VIRTUAL_ENV=/opt/aiperf-mock-server
ENV PATH="${VIRTUAL_ENV}/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
COPY --from=build ${WHEEL_DIR} ${WHEEL_DIR}
# Pillow and PyAV (which bundles FFmpeg) ship manylinux wheels: no system packages needed.
RUN python -m venv "$VIRTUAL_ENV" \
    && "$VIRTUAL_ENV/bin/python" -m pip install --no-cache-dir "$(echo "$WHEEL_DIR"/*.whl)[media]" \
    && rm -rf "$WHEEL_DIR"
# A numeric user, so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
RUN useradd --system --user-group --uid 10001 --no-create-home --shell /usr/sbin/nologin mock
USER 10001:10001
ENV MOCK_SERVER_HOST=0.0.0.0 \
    MOCK_SERVER_PORT=8000
EXPOSE 8000
# Slim images have no curl: the image's own Python asks /health, on the port in effect.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('MOCK_SERVER_PORT', '8000') + '/health', timeout=2)"]
ENTRYPOINT ["aiperf-mock-server"]
