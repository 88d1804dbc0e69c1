#!/usr/bin/env python3
"""Code footprint per handshake: the instruction-cache lines each kind of handshake executes (issue 11).

Usage: scripts/code-footprint.py LIB RAW_OUT SPNEGO_OUT N [TOP]
  RAW_OUT and SPNEGO_OUT are callgrind outputs with per-instruction costs of the interleaved run's two kinds,
  N handshakes each, from the same build LIB (our .so):
      valgrind --tool=callgrind --dump-instr=yes --collect-atstart=no --callgrind-out-file=RAW_OUT \\
          target/bench/gssbench --ours LIB --instr-interleaved raw N --interposer OID
  (and `spnego` for SPNEGO_OUT). Prints, per shared object, the distinct 64-byte lines whose instructions ran
  (every line of a handshake's path runs in each of the N, so this is one handshake's code), then for LIB the
  lines only the SPNEGO path runs: how many bytes of them ran (instruction lengths from objdump), the
  instructions executed in them per handshake, and the TOP functions (symbols from nm) holding most of them.
  Needs valgrind's output format 1 (callgrind), objdump and nm (binutils).
"""
import bisect
import collections
import os
import re
import subprocess
import sys


def executed(path):
    """{object basename: {address: instructions executed}} from a --dump-instr=yes callgrind file."""
    names, out = {}, collections.defaultdict(dict)
    obj, addr, skip = None, 0, False
    with open(path) as f:
        for line in f:
            if line.startswith(("ob=", "cob=")):
                m = re.match(r"c?ob=\((\d+)\)(?: (.*))?", line.strip())
                if m.group(2):
                    names[m.group(1)] = os.path.basename(m.group(2))
                if line.startswith("ob="):
                    obj = names.get(m.group(1))
                continue
            if line.startswith("calls="):
                skip = True  # the next cost line is the call's inclusive cost
                continue
            if line[:1] not in "0123456789+-*":
                continue
            fields = line.split()
            pos = fields[0]
            if pos.startswith("0x"):
                addr = int(pos, 16)
            elif pos[0] == "+":
                addr += int(pos[1:])
            elif pos[0] == "-":
                addr -= int(pos[1:])
            if skip:
                skip = False
                continue
            cost = int(fields[2]) if len(fields) > 2 else 0
            if cost and obj:
                out[obj][addr] = out[obj].get(addr, 0) + cost
    return out


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    lib, raw_out, sp_out, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    top = int(sys.argv[5]) if len(sys.argv) > 5 else 15
    raw, sp = executed(raw_out), executed(sp_out)
    print(f"{'object':32} {'raw NTLM lines':>15} {'SPNEGO+NTLM lines':>18}")
    for obj in sorted(set(raw) | set(sp)):
        r = {a // 64 for a in raw.get(obj, {})}
        s = {a // 64 for a in sp.get(obj, {})}
        print(f"{obj:32} {len(r):15} {len(s):18}")
    base = os.path.basename(lib)
    r_lines = {a // 64 for a in raw.get(base, {})}
    only = {a: c for a, c in sp.get(base, {}).items() if a // 64 not in r_lines}
    dump = subprocess.run(["objdump", "-d", "--no-show-raw-insn", lib], check=True, capture_output=True,
                          text=True).stdout
    starts = sorted(int(m.group(1), 16) for m in re.finditer(r"^\s+([0-9a-f]+):", dump, re.M))

    def length(a):
        i = bisect.bisect_right(starts, a)
        return min(starts[i] - a, 15) if i < len(starts) else 1

    syms = []
    for l in subprocess.run(["nm", "-S", "-C", "--defined-only", lib], check=True, capture_output=True,
                            text=True).stdout.splitlines():
        p = l.split(None, 3)
        if len(p) == 4:
            syms.append((int(p[0], 16), int(p[1], 16), p[3]))
    syms.sort()
    sym_starts = [s[0] for s in syms]

    def symbol(a):
        i = bisect.bisect_right(sym_starts, a) - 1
        return syms[i][2] if i >= 0 and a < syms[i][0] + syms[i][1] else "?"

    lines = {a // 64 for a in only}
    ran = sum(length(a) for a in only)
    print(f"\n{base}: {len(lines)} lines ({len(lines) * 64} bytes) only the SPNEGO path runs; {ran} bytes of "
          f"them ran ({100 * ran / max(len(lines) * 64, 1):.0f} %), {len(only)} distinct instructions, "
          f"{sum(only.values()) / n:.0f} instructions per handshake")
    per = collections.defaultdict(lambda: [set(), 0.0])
    for a, c in only.items():
        e = per[symbol(a)]
        e[0].add(a // 64)
        e[1] += c / n
    print(f"{'lines':>6} {'instr/hs':>9}  function")
    for name, (ls, ir) in sorted(per.items(), key=lambda kv: -len(kv[1][0]))[:top]:
        print(f"{len(ls):6} {ir:9.0f}  {name[:110]}")


if __name__ == "__main__":
    main()
