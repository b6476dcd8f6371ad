#!/usr/bin/env bash
# Sets up Descent on a Debian or Ubuntu machine, then (optionally) runs it.
#
#   Deploy/setup.sh [options] [DESCENT ARGUMENTS...]
#
# 1. Installs the Debian packages Descent needs to build and run when they are missing
#    (apt-get; through sudo when not root), saying which ones. Where it cannot install them it
#    names them and exits 2.
# 2. Builds the release binary (.build/release/descent) when it is missing or older than any
#    file under Sources/ or than Package.swift.
# 3. With arguments, runs `.build/release/descent ARGUMENTS` (exec: signals reach it directly).
#
# Options (before the descent arguments):
#   --install-only      step 1 only (what .ci/run uses)
#   --with-test-tools   also the packages the system tests use (iproute2, Slurm, munge, ...)
#   --no-install        skip step 1 (packages managed by hand)
#   --debug             build and run the debug binary instead
#   -h, --help          this text
#
# Environment: SWIFT (the swift executable; default: swift on PATH, else /opt/swift/usr/bin/swift).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# What building and running needs (headers + pkg-config files pull in the runtime libraries).
build_packages=(libzmq3-dev libopenblas-dev libdnnl-dev zlib1g-dev pkg-config)
# What the system tests use besides: namespaces and tc, the PyTorch peer's Python, a one-node
# Slurm cluster, nftables for lossy links, systemd-analyze for the units.
test_packages=(iproute2 python3 python3-venv slurm-wlm munge nftables systemd prometheus chromium tmux)

install=1 build=1 with_tests=0 configuration=release
while [ $# -gt 0 ]; do
    case "$1" in
        --install-only) build=0; shift ;;
        --with-test-tools) with_tests=1; shift ;;
        --no-install) install=0; shift ;;
        --debug) configuration=debug; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        --) shift; break ;;
        *) break ;;
    esac
done

say() { echo "setup: $*"; }
fail() { echo "setup: $*" >&2; exit 2; }

# --- 1. packages -------------------------------------------------------------------------------
install_packages() {
    local wanted=("${build_packages[@]}")
    [ "$with_tests" = 1 ] && wanted+=("${test_packages[@]}")
    if ! command -v dpkg-query >/dev/null 2>&1; then
        say "not a Debian system (no dpkg-query): make sure these packages' equivalents are installed: ${wanted[*]}"
        return 0
    fi
    local missing=() p
    for p in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        say "packages present: ${wanted[*]}"
        return 0
    fi
    local as_root=()
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            as_root=(sudo -n)
        elif command -v sudo >/dev/null 2>&1 && [ -t 0 ]; then
            as_root=(sudo)   # asks for the password on this terminal
        else
            fail "missing Debian packages: ${missing[*]}
setup: cannot install them (not root, and no sudo here). Ask an administrator to run:
setup:     apt-get install ${missing[*]}
setup: then run this command again (or pass --no-install to skip this check)."
        fi
    fi
    say "installing missing packages: ${missing[*]}${as_root:+ (through sudo)}"
    if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
        || ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; then
        fail "installing ${missing[*]} failed (see apt-get's message above); install them by hand and run this again"
    fi
    say "installed: ${missing[*]}"
}

# --- 2. the binary -----------------------------------------------------------------------------
find_swift() {
    if [ -n "${SWIFT:-}" ]; then echo "$SWIFT"; return; fi
    if command -v swift >/dev/null 2>&1; then command -v swift; return; fi
    if [ -x /opt/swift/usr/bin/swift ]; then echo /opt/swift/usr/bin/swift; return; fi
    fail "no Swift toolchain found (not on PATH, not in /opt/swift): install Swift 6 from swift.org/install and put its usr/bin on PATH, or set SWIFT=/path/to/swift"
}

binary="$root/.build/$configuration/descent"

# Prints why the binary must be built (nothing when it is up to date).
build_reason() {
    if [ ! -x "$binary" ]; then echo "no $configuration binary yet"; return; fi
    local newer
    newer=$(cd "$root" && find Package.swift Sources -newer "$binary" -type f -print -quit 2>/dev/null)
    [ -n "$newer" ] && echo "$newer changed since the last build"
    return 0
}

build_binary() {
    local reason swift
    reason=$(build_reason)
    if [ -z "$reason" ]; then
        say "$configuration binary up to date: ${binary#"$root"/}"
        return 0
    fi
    swift=$(find_swift)
    say "building the $configuration binary ($reason): swift build -c $configuration --product descent"
    [ -x "$binary" ] || say "a first build compiles the dependencies too (swift-crypto's BoringSSL among them): about 5 minutes on 2 cores"
    (cd "$root" && "$swift" build -c "$configuration" --product descent) || fail "the build failed (see the compiler's message above)"
    [ -x "$binary" ] || fail "the build finished but ${binary#"$root"/} is not there"
    touch "$binary"   # an unchanged binary is not rewritten; mark it as built now
    say "built ${binary#"$root"/}"
}

[ "$install" = 1 ] && install_packages
[ "$build" = 1 ] && build_binary
if [ "$build" = 1 ] && [ $# -gt 0 ]; then
    say "running: descent $*"
    exec "$binary" "$@"
fi
