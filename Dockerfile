# One image for every paas-billing process: `paas-billing producer|consumer|reporter|api|...`.
#
# Reproducible: the base image is pinned to a patch release (pin it by digest in your
# registry: `python:3.11.7-slim-bookworm@sha256:...`), and every Python package, setuptools
# included, comes from requirements.lock with its hashes, so two builds install the same
# bytes. Regenerate the lock with the command at its top when a dependency changes.
ARG PYTHON_IMAGE=python:3.11.7-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/paas-billing
COPY requirements.lock ./
RUN /opt/paas-billing/bin/pip install --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY producer ./producer
COPY consumer ./consumer
COPY reporter ./reporter
COPY simulator ./simulator
COPY tenant_api ./tenant_api
COPY paas_billing ./paas_billing
RUN /opt/paas-billing/bin/pip install --no-deps --no-build-isolation . \
    && /opt/paas-billing/bin/pip check

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/paas-billing/bin:$PATH
RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin billing
COPY --from=build /opt/paas-billing /opt/paas-billing
USER 10001:10001
EXPOSE 8080 9100
HEALTHCHECK NONE
ENTRYPOINT ["paas-billing"]
CMD ["--help"]
