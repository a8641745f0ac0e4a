# syntax=docker/dockerfile:1.7
# One image recipe for any workspace package, e.g. a tool or a service built ad hoc:
#   docker build --build-arg PACKAGE=chargewatch-authz --build-arg MODULE=chargewatch.authz -t chargewatch/authz .
# The services' own images come from services/<service>/Dockerfile (make images, skaffold); this one follows
# the same rules: only that package's locked dependencies, a non-root user, no writable root file system.
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=/app/.venv
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /src
COPY pyproject.toml uv.lock ./
COPY libs libs
COPY services services
COPY tools tools
ARG PACKAGE
RUN --mount=type=cache,target=/root/.cache/uv \
    test -n "${PACKAGE}" && uv sync --frozen --no-dev --no-editable --package "${PACKAGE}"

FROM ${PYTHON_IMAGE}
ARG MODULE
ENV PATH=/app/.venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 SERVICE_MODULE=${MODULE}
COPY --from=build /app/.venv /app/.venv
WORKDIR /app
# A numeric user, so Kubernetes can verify runAsNonRoot without a passwd entry.
USER 65532:65532
ENTRYPOINT ["/bin/sh", "-c", "exec python -m \"$SERVICE_MODULE\""]
