# syntax=docker/dockerfile:1
# One of our Go binaries, built from the repository root (the Go workspace):
#   docker build -f compose/docker/go.Dockerfile --build-arg MODULE=exporter --build-arg CMD=wedsync-exporter .
FROM golang:1.26-bookworm AS build
ARG MODULE
ARG CMD
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/root/.cache/go-build --mount=type=cache,target=/go/pkg/mod \
    CGO_ENABLED=0 go build -trimpath -ldflags "-w -s" -o /out/${CMD} ./${MODULE}/cmd/${CMD} && \
    ln -s /usr/local/bin/${CMD} /out/app

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates wget && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/ /usr/local/bin/
USER 65534:65534
ENTRYPOINT ["/usr/local/bin/app"]
