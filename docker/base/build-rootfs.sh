#!/bin/sh
# Build the root filesystem of coupon-chaos's local base image from Debian's packages.
#
#   build-rootfs.sh ROOTFS [MIRROR]
#
# A minimal bookworm (debootstrap --variant=minbase) plus the packages in packages.txt, trimmed of
# apt lists, docs and caches. `coupon-chaos images build` runs it as root when the public base
# images (python:3.11-slim, redis:7, postgres:15) cannot be pulled, then `docker import`s ROOTFS.
# The image tag carries a hash of this script and packages.txt, so editing either rebuilds it.
set -eu

rootfs=$1
mirror=${2:-http://deb.debian.org/debian}
here=$(dirname "$0")
packages=$(grep -v '^[[:space:]]*#' "$here/packages.txt" | grep -v '^[[:space:]]*$' | paste -sd, -)

debootstrap --variant=minbase --include="$packages" bookworm "$rootfs" "$mirror"

# The postgresql package creates a default cluster: images make their own at first start.
rm -rf "$rootfs/var/lib/postgresql/15/main" "$rootfs/etc/postgresql/15/main"
# PostgreSQL's JIT pulls in LLVM (~130 MB); the images run with jit=off, so drop it.
rm -rf "$rootfs"/usr/lib/postgresql/15/lib/llvmjit* "$rootfs"/usr/lib/postgresql/15/lib/bitcode \
    "$rootfs"/usr/lib/*-linux-gnu/libLLVM-*.so* "$rootfs"/usr/lib/*-linux-gnu/libz3.so*
# Smaller image, and nothing of the build host's identity inside it.
chroot "$rootfs" apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
    "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/* "$rootfs"/tmp/* \
    "$rootfs"/etc/resolv.conf "$rootfs"/etc/hostname
find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'locale.alias' \
    -exec rm -rf {} + 2>/dev/null || true
