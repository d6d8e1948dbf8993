# Mosaic's container image: built by docker-compose.yml. (Docker cannot run on the development
# machines; this file is kept correct by reading.)
FROM rust:1.95-bookworm AS build
WORKDIR /src
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev && rm -rf /var/lib/apt/lists/*
COPY . .
# The web app: wasm32 target and wasm-bindgen-cli at the version Cargo.lock pins (the build script
# installs what is missing; without npm it ships the app without wasm-opt).
RUN scripts/build-frontend.sh
RUN cargo build --release --locked -p mosaic-api --bin mosaic

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/mosaic /usr/local/bin/mosaic
COPY --from=build /src/frontend/dist /usr/share/mosaic/frontend
ENV MOSAIC_FRONTEND_DIR=/usr/share/mosaic/frontend
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/mosaic"]
