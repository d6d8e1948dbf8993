# Mosaic's container image: built by docker-compose.yml.
FROM rust:1.95-bookworm AS build
WORKDIR /src
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cargo build --release --locked -p mosaic-api --bin mosaic

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/mosaic /usr/local/bin/mosaic
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/mosaic"]
