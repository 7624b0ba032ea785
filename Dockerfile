# The riality API and worker, for hosts that reach a container registry (see compose.yaml).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY core core
COPY server server
COPY runner runner
COPY scoring scoring
COPY challenges challenges
COPY client client
RUN pip install --no-cache-dir . \
    && useradd --create-home --uid 1000 riality \
    && mkdir -p /data && chown riality /data
USER riality
ENV RIALITY_DATA_DIR=/data
EXPOSE 8000
CMD ["riality", "api", "--host", "0.0.0.0", "--port", "8000"]
