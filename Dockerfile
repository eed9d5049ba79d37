# One image for every paas-billing process: `paas-billing producer|consumer|reporter|api|...`.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY producer ./producer
COPY consumer ./consumer
COPY reporter ./reporter
COPY simulator ./simulator
COPY tenant_api ./tenant_api
COPY paas_billing ./paas_billing
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin billing
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER 10001
EXPOSE 8080 9100
ENTRYPOINT ["paas-billing"]
CMD ["--help"]
