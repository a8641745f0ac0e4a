# One image recipe for every service: `--build-arg PACKAGE=chargewatch-authz --build-arg MODULE=chargewatch.authz`.
# Only that service's locked dependencies are installed; the result runs as a non-root user
# and needs no writable root file system.
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /src
COPY pyproject.toml uv.lock ./
COPY libs libs
COPY services services
COPY tools tools
ARG PACKAGE
RUN uv sync --frozen --no-dev --no-editable --package "${PACKAGE}"

FROM ${PYTHON_IMAGE}
ARG MODULE
ENV PATH=/app/.venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 SERVICE_MODULE=${MODULE}
COPY --from=build /src/.venv /app/.venv
USER 65532:65532
WORKDIR /app
ENTRYPOINT ["/bin/sh", "-c", "exec python -m \"$SERVICE_MODULE\""]
