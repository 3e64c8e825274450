# The hearwatch binary in a small Debian image. Entry point `hearwatch`,
# default command `run` (the processor); docker-compose.yml also runs it with
# `migrate`. Build: docker build -t hearwatch .

FROM rust:1-bookworm AS build
# rdkafka builds librdkafka from source (cmake), with TLS and SASL/GSSAPI.
# Debian packages are not pinned: bookworm only moves by security fixes.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends cmake libssl-dev libsasl2-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p hearwatch \
    && install -m 0755 target/release/hearwatch /usr/local/bin/hearwatch

FROM debian:bookworm-slim
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libssl3 libsasl2-2 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --no-create-home hearwatch
COPY --from=build /usr/local/bin/hearwatch /usr/local/bin/hearwatch
USER 10001:10001
ENV HEARWATCH_METRICS_ADDR=0.0.0.0:19100
EXPOSE 19100
ENTRYPOINT ["hearwatch"]
CMD ["run"]
