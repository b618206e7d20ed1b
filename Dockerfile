# syntax=docker/dockerfile:1
# exposure-operator image: a release build on Debian bookworm, run from distroless (glibc,
# no shell) as the non-root user 65532.
#   docker build -t exposure-operator:0.1.0 .
FROM rust:1-bookworm AS builder
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p exposure-operator \
 && install -D -m 0755 target/release/exposure-operator /out/exposure-operator

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=builder /out/exposure-operator /usr/local/bin/exposure-operator
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/exposure-operator"]
CMD ["run"]
