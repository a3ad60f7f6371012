# The xAPI LRS image: one binary, `lrs`, built with the distributed backends (Kafka log,
# PostgreSQL and ScyllaDB stores) and run as an unprivileged user.
#
#   docker build -t lrs .
#   docker run --rm -p 8080:8080 lrs            # embedded log and store under /var/lib/lrs
#
# Layer order keeps rebuilds cheap: the dependency graph (every Cargo.toml and Cargo.lock) is
# compiled first against empty stand-ins for the workspace's own sources, so editing a .rs file
# recompiles only the workspace crates, not rdkafka and the other ~300 dependencies.

ARG RUST_IMAGE=rust:1-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---------------------------------------------------------------------------------------------
# recipe: the manifests plus an empty stand-in for every .rs file (main.rs and build.rs get
# `fn main() {}`). Its output only changes when a manifest, Cargo.lock or the set of source
# files changes, so the builder's dependency layer below stays cached across code edits.
FROM ${RUST_IMAGE} AS recipe
WORKDIR /src
COPY . .
RUN set -eu; \
    mkdir -p /recipe; \
    cp Cargo.toml Cargo.lock /recipe/; \
    find . -name Cargo.toml -not -path './target/*' -not -path './Cargo.toml' \
        -exec cp --parents {} /recipe/ \; ; \
    find . -name '*.rs' -not -path './target/*' | while read -r f; do \
        mkdir -p "/recipe/$(dirname "$f")"; \
        case "$f" in \
            */main.rs|*/build.rs|*/src/bin/*) echo 'fn main() {}' > "/recipe/$f" ;; \
            *) : > "/recipe/$f" ;; \
        esac; \
    done

# ---------------------------------------------------------------------------------------------
# builder
FROM ${RUST_IMAGE} AS builder
# rdkafka-sys (no cmake-build feature) compiles librdkafka with its own ./configure and make,
# and libz-sys builds a static zlib; both need only a C toolchain, make and pkg-config.
# The rust image already ships them; installing them explicitly documents the requirement.
# npm: assets/build.rs fetches the dashboard's chart library (uPlot) as assets/npm/package-lock.json
# pins it, to embed it in the binary.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential pkg-config nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src

# 1. Dependencies only (cached until a manifest or Cargo.lock changes).
COPY --from=recipe /recipe/ ./
RUN cargo build --release --locked -p lrs --features distributed

# 2. The real sources. COPY keeps the files' original mtimes, which can be older than the
#    stand-ins compiled above; touching them makes cargo rebuild every workspace crate.
COPY . .
RUN find . -name '*.rs' -not -path './target/*' -exec touch {} + \
 && cargo build --release --locked -p lrs --features distributed \
 && install -D -m 0755 target/release/lrs /out/lrs

# ---------------------------------------------------------------------------------------------
# runtime
FROM ${RUNTIME_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 lrs \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/lrs --no-create-home \
        --shell /usr/sbin/nologin lrs \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/lrs \
 && install -d -m 0755 /etc/lrs
COPY --from=builder /out/lrs /usr/local/bin/lrs

# The data directory holds credentials.json (and, with the default file:// URIs, the embedded
# log and store). Config file: `lrs serve --config /etc/lrs/lrs.toml`.
ENV LRS__STORAGE__DATA_DIR=/var/lib/lrs
WORKDIR /var/lib/lrs
USER 10001:10001
EXPOSE 8080
# SIGTERM starts the graceful shutdown (server.shutdown_timeout_seconds, default 30 s).
STOPSIGNAL SIGTERM
ENTRYPOINT ["lrs"]
CMD ["serve", "--listen", "0.0.0.0:8080"]
