# ConvScope: the app served by uvicorn, installed from the pinned requirements.lock.
FROM python:3.11-slim

# OPENBLAS_NUM_THREADS=1: one BLAS thread per request; concurrency comes from the
# workers and their threads, and oversubscribed BLAS threads spin instead of working.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OPENBLAS_NUM_THREADS=1

WORKDIR /srv/convscope

COPY pyproject.toml requirements.lock README.md ./
COPY app ./app
COPY static ./static
COPY templates ./templates

RUN pip install -c requirements.lock -e . \
    && useradd --system --uid 10001 --no-create-home convscope

USER 10001
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]

CMD ["convscope", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
