# The gateway: the HTTP API (REST, gRPC, web page) on 8080, an Orleans client of the cluster (no silo ports).
# Build from the repository root (the solution's build files live there):
#   docker build -f deploy/gateway.Dockerfile -t platform/gateway:latest .
ARG DOTNET_VERSION=10.0

FROM mcr.microsoft.com/dotnet/sdk:${DOTNET_VERSION} AS build
WORKDIR /src
# Restore from the build files and project files alone, so a change to the sources reuses the restored layer.
# Every shared project is listed (not only this role's references) so a new reference between them needs no edit here.
COPY global.json Directory.Build.props Directory.Build.targets Directory.Packages.props ./
COPY shared/Contracts/Platform.Contracts.csproj shared/Contracts/
COPY shared/Catalog/Platform.Catalog.csproj shared/Catalog/
COPY shared/Inference/Platform.Inference.csproj shared/Inference/
COPY shared/Search/Platform.Search.csproj shared/Search/
COPY shared/ServiceDefaults/Platform.ServiceDefaults.csproj shared/ServiceDefaults/
COPY shared/VectorStore/Platform.VectorStore.csproj shared/VectorStore/
COPY services/Gateway/Platform.Gateway.csproj services/Gateway/
RUN dotnet restore services/Gateway/Platform.Gateway.csproj -r linux-x64
COPY shared/ shared/
COPY services/Gateway/ services/Gateway/
RUN dotnet publish services/Gateway/Platform.Gateway.csproj -c Release -r linux-x64 --self-contained false --no-restore -o /app/publish

FROM mcr.microsoft.com/dotnet/aspnet:${DOTNET_VERSION} AS final
WORKDIR /app
COPY --from=build /app/publish ./
# The model package's small files: this role reads model.json (and fusion.json) but runs no tower.
COPY models/shopping-minilm/ models/shopping-minilm/
COPY deploy/healthcheck.sh /usr/local/bin/healthcheck
# /data is the role's data directory (Platform:Data); owned by the image's non-root user (APP_UID, 1654, from the base image).
RUN mkdir /data && chown $APP_UID /data
VOLUME /data
ENV ASPNETCORE_URLS=http://+:8080 \
    Platform__Data=/data \
    Platform__Model=/app/models/shopping-minilm \
    OTEL_SERVICE_NAME=gateway
USER $APP_UID
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["healthcheck", "8080", "/health/live"]
ENTRYPOINT ["dotnet", "Platform.Gateway.dll"]
