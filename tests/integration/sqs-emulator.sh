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

NODE=node
node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

# Picks a node >= 20 for fauxqs. Debian 12's nodejs is 18: then node 20 is
# installed from the npm registry's node-linux-<arch> package (a binary that
# ships inside a registry package) next to fauxqs, once. FAUXQS_FORCE_NPM_NODE=1
# takes that path even when the system node would do (to test it).
check_node() {
    local major=0 arch pkg dir
    if command -v node >/dev/null 2>&1; then
        major=$(node_major node)
    fi
    if [ "$major" -ge 20 ] 2>/dev/null && [ -z "${FAUXQS_FORCE_NPM_NODE:-}" ]; then
        NODE=node
        return 0
    fi
    command -v npm >/dev/null 2>&1 ||
        skip "need node >= 20 for fauxqs@$FAUXQS_VERSION and npm to fetch it (found node $major, no npm)"
    case "$(uname -m)" in
        x86_64) arch=x64 ;;
        aarch64) arch=arm64 ;;
        *) skip "no node-linux package for $(uname -m)" ;;
    esac
    pkg=node-linux-$arch
    dir=$(dirname "$prefix")/node20
    NODE=$dir/node_modules/$pkg/bin/node
    if [ ! -x "$NODE" ]; then
        mkdir -p "$(dirname "$dir")"
        exec 8>"$dir.lock"
        flock -w 300 8 || skip "timed out waiting for another node install"
        if [ ! -x "$NODE" ]; then
            rm -rf "$dir.tmp.$$"
            if ! timeout 300 npm install --prefix "$dir.tmp.$$" --no-audit --no-fund --no-save \
                --loglevel=error "$pkg@20" >&2; then
                rm -rf "$dir.tmp.$$"
                skip "npm install $pkg@20 failed (npm registry unreachable?)"
            fi
            rm -rf "$dir"
            mv "$dir.tmp.$$" "$dir"
        fi
        exec 8>&-
    fi
    [ "$(node_major "$NODE")" -ge 20 ] 2>/dev/null || skip "$NODE is not node >= 20"
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
    FAUXQS_DIR=$prefix setsid "$NODE" "$here/sqs-tool.mjs" serve "$dir/sqs.port" "$want" \
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
        check_node
        exec "$NODE" "$here/sqs-tool.mjs" "$@"
        ;;
    *)
        echo "usage: sqs-emulator.sh install | start DIR [PORT] | stop DIR | tool ARGS..." >&2
        exit 2
        ;;
esac
