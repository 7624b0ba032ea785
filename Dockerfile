# The riality API and worker (see compose.yaml). BASE: any Debian-like image with Python 3.11 and
# its venv module; tests/integration/test_compose_up.py builds it on riality's runtime base.
ARG BASE=python:3.11-slim
FROM ${BASE}
WORKDIR /app
COPY pyproject.toml README.md ./
COPY core core
COPY server server
COPY runner runner
COPY scoring scoring
COPY challenges challenges
COPY client client
RUN python3 -m venv /opt/riality && /opt/riality/bin/pip install --no-cache-dir . \
    && useradd --create-home --uid 1000 riality \
    && mkdir -p /data && chown riality /data
USER riality
ENV RIALITY_DATA_DIR=/data PATH=/opt/riality/bin:$PATH
EXPOSE 8000
CMD ["riality", "api", "--host", "0.0.0.0", "--port", "8000"]
