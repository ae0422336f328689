# syntax=docker/dockerfile:1
# The wedsync-scaling-datasource plugin: frontend (webpack) and backend
# (gpx_wedsync_scaling_linux_<arch>), copied into the volume Grafana loads
# it from when the container runs.
FROM node:20-bookworm AS frontend
WORKDIR /src/grafana-plugin
COPY grafana-plugin/package.json grafana-plugin/package-lock.json grafana-plugin/.npmrc ./
RUN npm ci
COPY grafana-plugin/ ./
RUN npm run build

FROM golang:1.26-bookworm AS backend
ARG TARGETARCH
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/root/.cache/go-build --mount=type=cache,target=/go/pkg/mod \
    cd grafana-plugin && CGO_ENABLED=0 go build -tags arrow_json_stdlib -ldflags "-w -s" \
    -o /out/gpx_wedsync_scaling_linux_${TARGETARCH:-amd64} ./pkg

FROM busybox:1.37
COPY --from=frontend /src/grafana-plugin/dist/ /plugin/
COPY --from=backend /out/ /plugin/
CMD ["sh", "-c", "rm -rf /out/* && cp -R /plugin/. /out/ && chmod 0755 /out/gpx_*"]
