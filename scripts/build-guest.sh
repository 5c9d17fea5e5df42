#!/usr/bin/env bash
# Builds the bundled i386 guest from Debian packages: a small Linux kernel with the
# e1000 driver built in, and a busybox initramfs whose shell runs on ttyS0.
# Outputs (committed): media/guest/{bzImage,initramfs.cpio.gz,bios-256k.bin,
# vgabios-stdvga.bin,kernel.config,MANIFEST}. Run only when the guest must change.
# Needs: linux-source-6.1 build-essential bc flex bison libelf-dev cpio seabios
# and `dpkg --add-architecture i386` for busybox-static:i386.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$ROOT/media/guest"
WORK="${USERNET_GUEST_BUILD:-/tmp/usernet-guest-build}"
JOBS="${JOBS:-$(nproc)}"
mkdir -p "$WORK" "$OUT"

log() { printf '[build-guest] %s\n' "$*" >&2; }

# --keep-kernel rebuilds only the userland (initramfs, BIOS, manifest) around the
# committed bzImage: enough for a change under scripts/guest/, without the kernel build.
KEEP_KERNEL=0
case "${1:-}" in
  --keep-kernel) KEEP_KERNEL=1 ;;
  '') ;;
  *) echo "usage: $0 [--keep-kernel]" >&2; exit 2 ;;
esac

# --- kernel -------------------------------------------------------------------
KDIR="$WORK/linux-source-6.1"
if [ "$KEEP_KERNEL" = 0 ]; then
  SRC_TAR=/usr/src/linux-source-6.1.tar.xz
  [ -f "$SRC_TAR" ] || { echo "missing $SRC_TAR: apt-get install linux-source-6.1" >&2; exit 1; }
  if [ ! -d "$KDIR" ]; then
    log "extracting kernel source"
    tar -C "$WORK" -xf "$SRC_TAR"
  fi
  log "configuring (tinyconfig + what Usernet needs)"
  make -C "$KDIR" ARCH=i386 tinyconfig >/dev/null
fi
# Everything the guest needs, on top of tinyconfig. Why each group is here:
#  PCI + serial + initrd + devtmpfs: boot to a shell on ttyS0 from the initramfs;
#  NET/INET/IPV6/PACKET/UNIX: busybox's udhcpc, ping, wget, nc, httpd, ip;
#  E1000: the NIC under test; VIRTIO_NET and NE2K_PCI: v86's own NICs, for benchmarks;
#  HZ_100 + NO_HZ_IDLE: fewer timer interrupts, which are costly under emulation;
#  COMPAT_32BIT_TIME: the 32-bit time syscalls (futex) that i386 glibc programs still call.
cat > "$WORK/usernet.config" <<'CFG'
CONFIG_PCI=y
CONFIG_PCI_GOANY=y
CONFIG_PCI_BIOS=y
CONFIG_PCI_DIRECT=y
CONFIG_PCI_MSI=n
CONFIG_TTY=y
CONFIG_SERIAL_8250=y
CONFIG_SERIAL_8250_CONSOLE=y
CONFIG_PRINTK=y
CONFIG_EARLY_PRINTK=y
CONFIG_BLK_DEV_INITRD=y
CONFIG_RD_GZIP=y
CONFIG_BINFMT_ELF=y
CONFIG_BINFMT_SCRIPT=y
CONFIG_DEVTMPFS=y
CONFIG_DEVTMPFS_MOUNT=y
CONFIG_PROC_FS=y
CONFIG_PROC_SYSCTL=y
CONFIG_SYSFS=y
CONFIG_NET=y
CONFIG_INET=y
CONFIG_IPV6=y
CONFIG_PACKET=y
CONFIG_UNIX=y
CONFIG_NETDEVICES=y
CONFIG_ETHERNET=y
CONFIG_NET_VENDOR_INTEL=y
CONFIG_E1000=y
CONFIG_NET_VENDOR_8390=y
CONFIG_NE2K_PCI=y
CONFIG_VIRTIO_MENU=y
CONFIG_VIRTIO_PCI=y
CONFIG_VIRTIO_NET=y
CONFIG_MULTIUSER=y
CONFIG_FUTEX=y
CONFIG_POSIX_TIMERS=y
CONFIG_SHMEM=y
CONFIG_TMPFS=y
CONFIG_M686=y
CONFIG_NOHIGHMEM=y
CONFIG_HIGHMEM4G=n
CONFIG_MODULES=n
CONFIG_HZ_100=y
CONFIG_NO_HZ_IDLE=y
CONFIG_UNIX98_PTYS=y
CONFIG_FILE_LOCKING=y
CONFIG_EPOLL=y
CONFIG_SIGNALFD=y
CONFIG_TIMERFD=y
CONFIG_EVENTFD=y
CONFIG_COMPAT_32BIT_TIME=y
CFG
if [ "$KEEP_KERNEL" = 0 ]; then
  (cd "$KDIR" && ./scripts/kconfig/merge_config.sh -m -O . .config "$WORK/usernet.config" >/dev/null)
  make -C "$KDIR" ARCH=i386 olddefconfig >/dev/null
  # merge_config drops silently what a dependency refuses: fail loudly instead.
  while IFS= read -r line; do
    case "$line" in CONFIG_*=y)
      grep -qx "$line" "$KDIR/.config" || { echo "kernel config lost $line" >&2; exit 1; } ;;
    esac
  done < "$WORK/usernet.config"

  log "building bzImage with $JOBS jobs (about 10 minutes on 2 cores)"
  make -C "$KDIR" ARCH=i386 -j"$JOBS" bzImage >"$WORK/kernel-build.log" 2>&1 \
    || { tail -40 "$WORK/kernel-build.log" >&2; exit 1; }
  cp "$KDIR/arch/x86/boot/bzImage" "$OUT/bzImage"
  cp "$KDIR/.config" "$OUT/kernel.config"
else
  [ -f "$OUT/bzImage" ] && [ -f "$OUT/kernel.config" ] || { echo "--keep-kernel: no bzImage in $OUT to keep" >&2; exit 1; }
  log "keeping the kernel in $OUT"
fi

# --- userland -----------------------------------------------------------------
log "fetching busybox-static:i386"
BB="$WORK/busybox"
rm -rf "$BB" && mkdir -p "$BB"
(cd "$BB" && apt-get download busybox-static:i386 >/dev/null)
dpkg-deb -x "$BB"/busybox-static_*_i386.deb "$BB/x"

INITRD="$WORK/initramfs"
rm -rf "$INITRD" && mkdir -p "$INITRD"/{bin,sbin,etc/udhcpc,proc,sys,dev,tmp,root,usr/bin,usr/sbin,var/www}
cp "$BB/x/bin/busybox" "$INITRD/bin/busybox"
cp "$ROOT/scripts/guest/init" "$INITRD/init"
cp "$ROOT/scripts/guest/default.script" "$INITRD/etc/udhcpc/default.script"
chmod 755 "$INITRD/init" "$INITRD/etc/udhcpc/default.script" "$INITRD/bin/busybox"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$INITRD/etc/passwd"
printf 'root:x:0:\n' > "$INITRD/etc/group"
printf 'usernet\n' > "$INITRD/etc/hostname"
# Fixed timestamps: the same inputs give the same initramfs, byte for byte.
find "$INITRD" -exec touch -h -d @0 {} +
(cd "$INITRD" && find . -print0 | sort -z | cpio --null -o -H newc --owner=0:0 --quiet) \
  | gzip -9n > "$OUT/initramfs.cpio.gz"

# --- BIOS ---------------------------------------------------------------------
cp /usr/share/seabios/bios-256k.bin /usr/share/seabios/vgabios-stdvga.bin "$OUT/"

# --- manifest -----------------------------------------------------------------
pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo unknown; }
BBVER=$(dpkg-deb -f "$BB"/busybox-static_*_i386.deb Version)
{
  echo "# Usernet bundled guest — built by scripts/build-guest.sh"
  echo
  echo "## Sources (Debian packages)"
  echo "- linux-source-6.1 $(pkgver linux-source-6.1) — GPL-2.0 (kernel, bzImage)"
  echo "- busybox-static:i386 $BBVER — GPL-2.0 (initramfs userland)"
  echo "- seabios $(pkgver seabios) — LGPL-3.0 (bios-256k.bin, vgabios-stdvga.bin)"
  echo "- gcc $(gcc -dumpfullversion)"
  echo
  echo "## Kernel configuration"
  echo "make ARCH=i386 tinyconfig, merged with (kernel.config holds the full result):"
  sed 's/^/    /' "$WORK/usernet.config"
  echo
  echo "## Files (sha256)"
  (cd "$OUT" && sha256sum bzImage initramfs.cpio.gz bios-256k.bin vgabios-stdvga.bin kernel.config)
} > "$OUT/MANIFEST"
log "done: $(du -sh "$OUT" | cut -f1) in $OUT"
