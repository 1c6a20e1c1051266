# mfaportal: a small, static, non-root image. Data lives in the /data volume.
#   docker build -t mfaportal .
#   docker run -p 8080:8080 -v mfaportal-data:/data mfaportal
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/mfaportal ./cmd/mfaportal \
 && mkdir -p /out/data

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/mfaportal /usr/local/bin/mfaportal
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
# Same defaults as the binary, except that a container must listen on all its interfaces.
ENV MFAPORTAL_ADDR=0.0.0.0:8080 \
    MFAPORTAL_DATA=/data
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/mfaportal"]
CMD ["serve"]
