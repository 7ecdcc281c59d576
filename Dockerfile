# ghops container images (docs/install.md, "Container image").
#
# The binary is not compiled here: the release workflow (and scripts/build-image locally) puts
# the static musl binaries it built, tested and attested into the build context, so the image
# holds exactly the bytes listed in the release's SHA256SUMS, and a multi-arch build needs no
# emulation. Context layout:
#
#   dist/linux/amd64/ghops, dist/linux/arm64/ghops   static binaries (per TARGETARCH)
#   dist/ca-certificates.crt                          CA bundle (the builder's, from Debian)
#   dist/tmp/                                         an empty folder, mode 1777
#
# Two targets:
#   runtime (default): FROM scratch, the binary, CA certificates, a writable /tmp, numeric
#     non-root user 65532, no shell. For `ghops serve`, `runners reconcile`, and every command
#     that only talks to GitHub and Kubernetes.
#   agent: the same binary on Debian slim (bash, coreutils) for `ghops agent run`, whose
#     deploy hooks are scripts. Add your deploy tools in your own image FROM this one.

# ---- agent: a shell and coreutils for hook scripts
FROM docker.io/library/debian:bookworm-slim AS agent
ARG TARGETARCH
ARG VERSION=dev
ARG REVISION=unknown
ARG SOURCE
COPY dist/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY dist/linux/${TARGETARCH}/ghops /usr/local/bin/ghops
LABEL org.opencontainers.image.title="ghops-agent" \
      org.opencontainers.image.description="ghops deploy agent: the ghops binary with a shell for hook scripts" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
WORKDIR /tmp
ENTRYPOINT ["/usr/local/bin/ghops"]
CMD ["--help"]

# ---- runtime (default): nothing but the binary and CA certificates
FROM scratch AS runtime
ARG TARGETARCH
ARG VERSION=dev
ARG REVISION=unknown
ARG SOURCE
COPY dist/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY dist/tmp /tmp
COPY dist/linux/${TARGETARCH}/ghops /ghops
LABEL org.opencontainers.image.title="ghops" \
      org.opencontainers.image.description="ghops: GitHub operations in one binary" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    HOME=/tmp
USER 65532:65532
WORKDIR /tmp
ENTRYPOINT ["/ghops"]
CMD ["--help"]
