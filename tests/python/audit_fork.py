"""Audit lines from a forked child (tests/audit_syslog.rs): one SPNEGO handshake (initiator and acceptor in this
process, target host@<argv[1]>, NTLM from NTLM_USER_FILE) in the parent, then one in a child made with fork()
that leaves with os._exit() right after its handshake (no interpreter shutdown, no atexit). Prints one JSON
object: both pids and whether each handshake succeeded. With argv[2] == "once": the parent's handshake only
(exit status 1 when it fails or raises).
"""
import json
import os
import sys

import gssapi

SPNEGO = gssapi.OID.from_int_seq("1.3.6.1.5.5.2")


def handshake():
    target = gssapi.Name("host@" + sys.argv[1], gssapi.NameType.hostbased_service)
    ini = gssapi.SecurityContext(name=target, mech=SPNEGO, usage="initiate")
    acc = gssapi.SecurityContext(usage="accept")
    tok = ini.step()
    for _ in range(6):
        tok = acc.step(tok)
        if not ini.complete:
            tok = ini.step(tok)
        if ini.complete and acc.complete:
            return True
    return False


parent_ok = handshake()
if sys.argv[2:] == ["once"]:
    print(json.dumps({"parent": os.getpid(), "parent_ok": parent_ok}))
    raise SystemExit(0 if parent_ok else 1)
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    ok = handshake()
    os.write(w, b"1" if ok else b"0")
    os._exit(0)
os.close(w)
child_ok = os.read(r, 1) == b"1"
os.waitpid(pid, 0)
print(json.dumps({"parent": os.getpid(), "child": pid, "parent_ok": parent_ok, "child_ok": child_ok}))
