# maskload image: the loader (entrypoint) plus the fixture API server and its
# data, for docker-compose.yml. Debian 12 (bookworm), like the dev machines.
#
#   docker build -t maskload .
#   docker run --rm maskload --help
FROM debian:bookworm

ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8

# Dependencies first, so this layer is reused while only sources change.
# (The build needs the -dev packages; install-deps also brings mariadb-server,
# unused here but harmless: policy-rc.d keeps its service from starting.)
COPY scripts/install-deps /src/scripts/install-deps
RUN /src/scripts/install-deps \
    && rm -rf /var/lib/apt/lists/*

# Only what the build and the fixture API need: never .local/ (secrets,
# data directories) or a host build/ directory.
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake/ cmake/
COPY loader/ loader/
COPY ddl/ ddl/
COPY grants/ grants/
COPY views/ views/
COPY queries/ queries/
COPY tests/ tests/
COPY scripts/ scripts/

RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    && cmake --build /build -j2 --target maskload fixture_api \
    && install -m 0755 /build/maskload /build/fixture_api /usr/local/bin/ \
    && rm -rf /build

COPY maskload.docker.yaml /etc/maskload/maskload.docker.yaml

RUN useradd --system --no-create-home --shell /usr/sbin/nologin maskload
USER maskload

ENTRYPOINT ["maskload"]
CMD ["--help"]
