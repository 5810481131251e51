FROM python:3.11-slim
WORKDIR /app
# The CPU build of torch keeps the image small; use a CUDA base image for GPU training.
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY kgrec kgrec
COPY kg kg
COPY gnn gnn
COPY loaders loaders
COPY queries queries
RUN pip install --no-cache-dir .
ENV HF_HUB_OFFLINE=1
ENTRYPOINT ["kgrec"]
