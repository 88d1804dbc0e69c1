#!/usr/bin/env python3
"""Per-handshake instruction breakdown: SPNEGO+NTLM through the interposer minus raw NTLM (issue 11).

Usage: scripts/instr-breakdown.py RAW_N RAW_2N IPOSE_N IPOSE_2N N
  The four arguments are callgrind output files of `gssbench --alloc ours N` / `ours 2N` and
  `gssbench --alloc ipose N --spnego --interposer OID` / `ipose 2N ...` (valgrind --tool=callgrind
  --callgrind-out-file=FILE). Each function's exclusive (self) cost per handshake is (cost at 2N - cost at N) / N;
  the difference interposer - raw is summed into categories by function name. The categories add up to the
  difference of the programs' totals. Needs callgrind_annotate (valgrind).
"""
import os
import re
import subprocess
import sys

CATEGORIES = [
    ("mechListMIC (HMAC-MD5, RC4, NTLM sealing keys)",
     r"ntlm::bulk|ntlm::security|rc4::|md5|spnego::mic"),
    ("DER encode/decode of the SPNEGO tokens",
     r"spnego::der|spnego::oid|NegToken|read_init_choice|TokenView|RespView|spnego/der\.rs|spnego/oid\.rs"
     r"|spnego/mod\.rs"),
    ("audit record building/formatting/sending",
     r"audit|syslog|core::fmt|Formatter|write_str"),
    ("heap allocation (malloc/free)",
     r"malloc|free|rdl_|rust_alloc|rust_dealloc|rust_no_alloc|finish_grow|RawVec|unlink_chunk|realloc"),
    ("memcpy/memcmp", r"memcpy|memset|memcmp|memmove|strncmp"),
    ("handle registry (hashing, locks)",
     r"handles::|hashbrown|hash::|sip::|pthread_mutex|k5_os_mutex|k5_once|pthread_once|krb5int_pthread"),
    ("names (import/release/parse, own code)",
     r"names::|name::|parse_hostbased|IName|CharSearcher"),
    ("SPNEGO engine + interposer state machine",
     r"spnego::|interposer::|util::guard|context::"),
    ("MIT mechglue's own code (libgssapi_krb5)", r"^\?\?\?:(0x|gss_|k5|krb5)"),
]


def self_costs(path):
    out = subprocess.run(["callgrind_annotate", "--auto=no", "--threshold=100", path],
                         check=True, capture_output=True, text=True).stdout
    costs = {}
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*)$", line)
        if m:
            name = re.sub(r"\s*\[.*\]$", "", m.group(2).strip())
            costs[name] = costs.get(name, 0) + int(m.group(1).replace(",", ""))
    return costs


def per_handshake(a, b, n):
    ca, cb = self_costs(a), self_costs(b)
    return {k: (cb.get(k, 0) - ca.get(k, 0)) / n for k in set(ca) | set(cb)}


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    n = int(sys.argv[5])
    raw = per_handshake(sys.argv[1], sys.argv[2], n)
    ipose = per_handshake(sys.argv[3], sys.argv[4], n)
    total = {"PROGRAM TOTALS": (raw.get("PROGRAM TOTALS", 0), ipose.get("PROGRAM TOTALS", 0))}
    sums = {c: 0.0 for c, _ in CATEGORIES}
    sums["other"] = 0.0
    top = {c: [] for c in sums}
    for k in set(raw) | set(ipose):
        if k == "PROGRAM TOTALS":
            continue
        d = ipose.get(k, 0) - raw.get(k, 0)
        cat = next((c for c, p in CATEGORIES if re.search(p, k)), "other")
        sums[cat] += d
        top[cat].append((d, k))
    r, i = total["PROGRAM TOTALS"]
    print(f"raw NTLM {r:,.0f}, interposer {i:,.0f}, difference {i - r:,.0f} instructions per handshake")
    for c, v in sums.items():
        print(f"{v:10,.0f}  {c}")
    print(f"{sum(sums.values()):10,.0f}  (sum)")
    if os.environ.get("BREAKDOWN_VERBOSE"):
        for c in sums:
            print("==", c)
            for d, k in sorted(top[c], reverse=True)[:10]:
                print(f"   {d:8,.0f} {k[:140]}")


if __name__ == "__main__":
    main()
