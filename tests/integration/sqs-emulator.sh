#!/usr/bin/env bash
# sqs-emulator.sh - the SQS emulator used by the SQS tests and the demo: npm
# fauxqs@1.9.2, installed once into a project-local, git-ignored directory and
# run on 127.0.0.1 on a free port (see sqs-tool.mjs).
#
#   sqs-emulator.sh install          install fauxqs if missing (cached)
#   sqs-emulator.sh start DIR [PORT] start it (PORT default: a free one);
#                                    DIR/sqs.port, DIR/sqs.pid, DIR/sqs.log
#   sqs-emulator.sh stop DIR         stop the one started in DIR
#   sqs-emulator.sh tool ARGS...     node sqs-tool.mjs ARGS...
#
# Exit status 77 ("skip") when the emulator cannot be had here: no node/npm,
# node older than fauxqs needs (>= 20), or the npm registry unreachable.
# FAUXQS_PREFIX overrides the install directory (default
# <repo>/.local/npm/fauxqs-1.9.2).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
FAUXQS_VERSION=1.9.2
prefix=${FAUXQS_PREFIX:-$repo/.local/npm/fauxqs-$FAUXQS_VERSION}

skip() {
    echo "sqs-emulator: SKIP: $*" >&2
    exit 77
}

check_node() {
    command -v node >/dev/null 2>&1 || skip "node not found (scripts/install-deps installs nodejs)"
    local major
    major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
    [ "$major" -ge 20 ] 2>/dev/null ||
        skip "fauxqs@$FAUXQS_VERSION needs node >= 20, found $(node --version 2>/dev/null)"
}

install() {
    check_node
    if [ -f "$prefix/node_modules/fauxqs/package.json" ]; then
        return 0
    fi
    command -v npm >/dev/null 2>&1 || skip "npm not found (scripts/install-deps installs it)"
    mkdir -p "$(dirname "$prefix")"
    # one installer at a time (parallel test runs share the cache)
    exec 9>"$prefix.lock"
    flock -w 300 9 || skip "timed out waiting for another fauxqs install"
    if [ ! -f "$prefix/node_modules/fauxqs/package.json" ]; then
        local tmp="$prefix.tmp.$$"
        rm -rf "$tmp"
        if ! timeout 300 npm install --prefix "$tmp" --no-audit --no-fund --no-save \
            --loglevel=error "fauxqs@$FAUXQS_VERSION" >&2; then
            rm -rf "$tmp"
            skip "npm install fauxqs@$FAUXQS_VERSION failed (npm registry unreachable?)"
        fi
        rm -rf "$prefix"
        mv "$tmp" "$prefix"
    fi
    exec 9>&-
}

start() {
    local dir=$1 want=${2:-0}
    install
    mkdir -p "$dir"
    stop "$dir"
    rm -f "$dir/sqs.port"
    FAUXQS_DIR=$prefix setsid node "$here/sqs-tool.mjs" serve "$dir/sqs.port" "$want" \
        >"$dir/sqs.log" 2>&1 </dev/null &
    echo $! >"$dir/sqs.pid"
    for _ in $(seq 1 150); do
        [ -s "$dir/sqs.port" ] && break
        kill -0 "$(cat "$dir/sqs.pid")" 2>/dev/null || break
        sleep 0.1
    done
    if [ ! -s "$dir/sqs.port" ]; then
        cat "$dir/sqs.log" >&2 || true
        echo "sqs-emulator: did not start (log: $dir/sqs.log)" >&2
        exit 1
    fi
    local port
    port=$(cat "$dir/sqs.port")
    for _ in $(seq 1 50); do
        curl -fsS --max-time 2 "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "sqs-emulator: no answer on http://127.0.0.1:$port/health" >&2
    exit 1
}

stop() {
    local dir=$1 pid
    [ -f "$dir/sqs.pid" ] || return 0
    pid=$(cat "$dir/sqs.pid")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/sqs.pid"
}

case "${1:-}" in
    install) install ;;
    start) start "${2:?start DIR}" "${3:-0}" ;;
    stop) stop "${2:?stop DIR}" ;;
    tool)
        shift
        exec node "$here/sqs-tool.mjs" "$@"
        ;;
    *)
        echo "usage: sqs-emulator.sh install | start DIR [PORT] | stop DIR | tool ARGS..." >&2
        exit 2
        ;;
esac
