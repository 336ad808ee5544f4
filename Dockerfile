# The gateway's container image: the static release binary, CA certificates
# and a non-root user, nothing else. Build the binaries first:
#   make release && podman build -t cartgateway .
# (docker build works the same; --platform linux/arm64 takes the arm64 binary.)
FROM scratch
ARG TARGETARCH=amd64
# /etc/passwd and /etc/group with the user cartgateway (65532), the CA
# certificates, /tmp, and /var/lib/cartgateway owned by that user.
ADD dist/rootfs.tar /
COPY dist/cartgateway-linux-${TARGETARCH} /usr/local/bin/cartgateway
USER 65532:65532
WORKDIR /var/lib/cartgateway
# The SQLite file and its secret live in the volume. Listen on every
# interface of the container; publish the port on the host's loopback, or
# behind a TLS-terminating proxy (README, "Limits and transport").
ENV CARTGATEWAY_DB=/var/lib/cartgateway/cartgateway.db \
    CARTGATEWAY_ADDR=0.0.0.0:8080
VOLUME /var/lib/cartgateway
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/cartgateway"]
CMD ["serve"]
