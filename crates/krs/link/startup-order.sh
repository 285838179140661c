#!/bin/bash
# Regenerates crates/krs/link/startup.order: the code `krs server` runs while it starts, so the
# linker (build.rs) can put it together at the front of .text.
#
# usage (root, on an otherwise idle machine): crates/krs/link/startup-order.sh target/release/krs
#
# How: with the disk's readahead off and the page cache dropped, every page of the binary the
# server touches while it starts is read on its own, so the binary's pages in the page cache
# afterwards are the ones it used. The functions in those pages (nm) are the order. Readahead
# is restored afterwards. Functions that share a touched page with start-up code are included
# too; that only makes the group a little larger.
set -euo pipefail
BIN=$(realpath "$1")
OUT=$(dirname "$(realpath "$0")")/startup.order
DEV=$(lsblk -no pkname "$(df --output=source "$BIN" | tail -1)" 2>/dev/null || true)
[ -n "$DEV" ] || DEV=$(basename "$(df --output=source "$BIN" | tail -1)")
RA=/sys/block/$DEV/queue/read_ahead_kb
OLD=$(cat "$RA")
DATA=$(mktemp -d)
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
restore() { echo "$OLD" > "$RA"; rm -rf "$DATA"; }
trap restore EXIT
echo 0 > "$RA"
sync; echo 3 > /proc/sys/vm/drop_caches
"$BIN" server --data-dir "$DATA" --secure-port "$PORT" --log-level warn --no-agent --no-scheduler --no-controller-manager >/dev/null 2>&1 &
PID=$!
for _ in $(seq 1 100); do
    curl -sk "https://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
    sleep 0.1
done
sleep 2
python3 - "$BIN" "$OUT" <<'PY'
import ctypes, mmap, os, subprocess, sys
binary, out = sys.argv[1], sys.argv[2]
libc = ctypes.CDLL(None, use_errno=True)
size = os.path.getsize(binary)
page = mmap.PAGESIZE
fd = os.open(binary, os.O_RDONLY)
libc.mmap.restype = ctypes.c_void_p
addr = ctypes.c_void_p(libc.mmap(None, ctypes.c_size_t(size), 1, 1, fd, ctypes.c_long(0)))
vec = (ctypes.c_ubyte * ((size + page - 1) // page))()
if libc.mincore(addr, ctypes.c_size_t(size), vec) != 0:
    sys.exit("mincore failed")
resident = {i for i, v in enumerate(vec) if v & 1}
# File offset -> address: the executable LOAD segment.
phdrs = subprocess.run(["readelf", "-lW", binary], capture_output=True, text=True).stdout
text = [l.split() for l in phdrs.splitlines() if l.strip().startswith("LOAD") and " R E " in l][0]
off, vaddr, filesz = int(text[1], 16), int(text[2], 16), int(text[4], 16)
syms = subprocess.run(["nm", "-S", "--defined-only", binary], capture_output=True, text=True).stdout
chosen = []
for line in syms.splitlines():
    parts = line.split()
    if len(parts) != 4 or parts[2] not in "tT":
        continue
    a, sz, name = int(parts[0], 16), int(parts[1], 16), parts[3]
    if not (vaddr <= a < vaddr + filesz):
        continue
    first, last = (a - vaddr + off) // page, (a + max(sz, 1) - 1 - vaddr + off) // page
    if any(p in resident for p in range(first, last + 1)):
        chosen.append((a, name))
chosen.sort()
seen = set()
with open(out, "w") as f:
    for _, name in chosen:
        if name not in seen:
            seen.add(name)
            f.write(f"{name}\n")
print(f"{len(seen)} functions in {len(resident)} resident pages -> {out}")
PY
kill "$PID"; wait "$PID" 2>/dev/null || true
