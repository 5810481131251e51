FROM python:3.11-slim
WORKDIR /app
# The CPU build of torch from PyTorch's CPU index keeps the image small (no nvidia-* packages).
# Where that index is unreachable, build with --build-arg TORCH_INDEX_URL=https://pypi.org/simple:
# PyPI serves the CUDA build (torch 2.13.0+cu130 and about 2.7 GB of nvidia-* packages).
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
RUN pip install --no-cache-dir torch==2.13.0 --index-url "${TORCH_INDEX_URL}"
COPY pyproject.toml README.md ./
COPY kgrec kgrec
COPY core core
COPY loaders loaders
COPY kg kg
COPY gnn gnn
COPY queries queries
COPY explain explain
COPY app app
COPY cli cli
RUN pip install --no-cache-dir .
ENV HF_HUB_OFFLINE=1
ENTRYPOINT ["kgrec"]
