# lims container image: build on Debian 12 with the same Debian packages scripts/setup installs,
# run on debian-slim with only the shared libraries lims links. scripts/check-deploy checks both
# package lists against Debian and the built binary's ldd.
#
#   docker build -t lims:0.1.0 .
#   docker run --rm -p 8080:8080 -e LIMS_BROKERS=HOST:9092 -e LIMS_STORE=mongodb://HOST:27017 lims:0.1.0
#
# Base images pinned to the dated Debian 12.11 build of the official image, 2025-05-20
# (bookworm-YYYYMMDD tags do not move; bookworm does). The machines that build and test lims run
# that same snapshot, so the image builds against the library versions CI tests. apt still
# fetches current bookworm updates. Bump both stages together.

FROM debian:bookworm-20250520 AS build
# The build packages of scripts/setup (BUILD_PACKAGES), less doctest-dev: tests are off here.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ \
      cmake \
      make \
      pkg-config \
      librdkafka-dev \
      libsimdjson-dev \
      nlohmann-json3-dev \
      libcli11-dev \
      libsqlite3-dev \
      libmongoc-dev \
      libmicrohttpd-dev \
      libcpp-httplib-dev \
      libturbojpeg0-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Only what the lims target compiles (see .dockerignore).
COPY CMakeLists.txt ./
COPY core core
COPY cli cli
COPY bench bench
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
 && cmake --build build --target lims -j"$(nproc)" \
 && strip build/lims

FROM debian:bookworm-20250520-slim AS runtime
# The packages of the libraries `ldd lims` lists (their own dependencies come with them; libc,
# libstdc++ and libgcc are in the base), and CA certificates for TLS to Kafka or MongoDB.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates \
      librdkafka1 \
      libsqlite3-0 \
      libmongoc-1.0-0 \
      libbson-1.0-0 \
      libmicrohttpd12 \
      libcpp-httplib0.11 \
      libsimdjson14 \
      libturbojpeg0 \
 && rm -rf /var/lib/apt/lists/*
# A fixed numeric uid/gid, so Kubernetes can check runAsNonRoot without a passwd lookup.
RUN groupadd --gid 10001 lims \
 && useradd --uid 10001 --gid 10001 --home-dir /var/lib/lims --no-create-home \
      --shell /usr/sbin/nologin lims \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/lims
COPY --from=build /src/build/lims /usr/local/bin/lims
USER 10001:10001
# The working directory for relative paths (sqlite:lims.db, the sync-batch watermark). Kubernetes
# runs with a read-only root file system and mounts what must be written.
WORKDIR /var/lib/lims
EXPOSE 8080
# For docker and compose; Kubernetes uses the manifests' probes. No curl in the image: bash's
# /dev/tcp asks /healthz and wants "HTTP/1.x 200". Only meaningful for `consume --listen :8080`
# (the default command) and `serve`.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && IFS= read -r -t 4 line <&3 && [[ $line == 'HTTP/1.'?' 200 '* ]]"]
ENTRYPOINT ["lims"]
CMD ["consume", "--listen", ":8080"]
