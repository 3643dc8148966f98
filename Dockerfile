# redcluster:local, FROM scratch around the static binaries that `make build`
# puts in bin/ (CGO_ENABLED=0): nothing is compiled or pulled here.
#
#   make image          # = make build && docker build -t redcluster:local .
#
# .dockerignore keeps the build context down to bin/redcluster,
# bin/redcluster-create and docker/redcluster.conf.
FROM scratch
COPY bin/redcluster bin/redcluster-create /
COPY docker/redcluster.conf /etc/redcluster/redcluster.conf
# /data holds nodes.conf: mount a volume there to keep a node's identity
# (docker-compose.yml does). No VOLUME line: it would leak anonymous volumes.
WORKDIR /data
EXPOSE 6379 16379
ENTRYPOINT ["/redcluster"]
CMD ["/etc/redcluster/redcluster.conf"]
