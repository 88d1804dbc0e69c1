#!/usr/bin/python3
"""Half-built contexts and pyspnego 0.6's NTLM-over-GSSAPI probe (issue 10, defect 4).

Run by tests/interop_pyspnego06.rs with GSS_MECH_CONFIG naming one NTLM plugin (ours or gss-ntlmssp),
NTLM_USER_FILE holding TESTDOM:testuser:Passw0rd!, an inert KRB5_CONFIG and HANDSHAKE_HOST.

    pyspnego06.py probe    python-gssapi: one gss_init_sec_context step, then every query an application may make on
                           the half-built context; prints {"call": [routine error number or "COMPLETE", minor]}
    pyspnego06.py pyspnego (in a venv with pyspnego 0.6.3) pyspnego's own availability check, then a pyspnego client
                           and server through the system GSSAPI (this plugin) with wrap/unwrap and sign/verify both
                           ways; prints one JSON object, "ok" true when everything worked
"""
import json
import os
import sys
import traceback

import gssapi
import gssapi.raw as g
from gssapi.raw import GSSError

NTLM = gssapi.OID.from_int_seq("1.3.6.1.4.1.311.2.2.10")
RESET_CRYPTO = gssapi.OID.from_int_seq("1.3.6.1.4.1.7165.655.1.3")
SESSION_KEY = gssapi.OID.from_int_seq("1.2.840.113554.1.2.2.5.5")
SASL_SSF = gssapi.OID.from_int_seq("1.2.840.113554.1.2.2.5.15")


def status(f):
    try:
        f()
        return ["COMPLETE", None]
    except GSSError as e:
        return [e.maj_code >> 16 & 0xFF, e.min_code]


def probe():
    name = gssapi.Name("user", gssapi.NameType.user)
    cred = g.acquire_cred_with_password(name, b"pass", usage="initiate", mechs=[NTLM]).creds
    target = gssapi.Name("http@test", gssapi.NameType.hostbased_service)
    ctx = gssapi.SecurityContext(creds=gssapi.Credentials(base=cred), usage="initiate", name=target, mech=NTLM)
    ctx.step()
    out = {
        "set_option_reset_crypto": status(lambda: g.set_sec_context_option(RESET_CRYPTO, context=ctx,
                                                                           value=b"\0\0\0\0")),
        "inquire_session_key": status(lambda: g.inquire_sec_context_by_oid(ctx, SESSION_KEY)),
        "inquire_sasl_ssf": status(lambda: g.inquire_sec_context_by_oid(ctx, SASL_SSF)),
        "inquire_context": status(lambda: g.inquire_context(ctx)),
        "context_time": status(lambda: g.context_time(ctx)),
        "wrap": status(lambda: g.wrap(ctx, b"x", True)),
        "get_mic": status(lambda: g.get_mic(ctx, b"x")),
        "unwrap": status(lambda: g.unwrap(ctx, b"\1" + b"\0" * 20)),
        "verify_mic": status(lambda: g.verify_mic(ctx, b"x", b"\1" + b"\0" * 15)),
        "wrap_size_limit": status(lambda: g.wrap_size_limit(ctx, 100)),
    }
    res = g.inquire_context(ctx)
    out["inquire_context_open"] = bool(res.complete)
    print(json.dumps(out))


def pyspnego():
    import spnego
    from spnego import _gss

    out = {"version": spnego.__version__ if hasattr(spnego, "__version__") else "?", "ok": False}
    try:
        out["ntlm_available"] = bool(_gss._gss_ntlmssp_available())
        out["ntlm_session_key"] = bool(_gss._gss_ntlmssp_available(session_key=True))
        host = os.environ.get("HANDSHAKE_HOST") or "localhost"
        opts = spnego.NegotiateOptions.use_gssapi
        c = spnego.client("TESTDOM\\testuser", "Passw0rd!", hostname=host, service="host", protocol="ntlm",
                          options=opts)
        s = spnego.server(hostname=host, service="host", protocol="ntlm", options=opts)
        out["client_impl"] = type(c).__name__
        out["server_impl"] = type(s).__name__
        tok = c.step()
        while not (c.complete and s.complete):
            tok = s.step(tok)
            if tok and not c.complete:
                tok = c.step(tok)
        out["client_principal"] = s.client_principal
        checks = []
        for i, (a, b) in enumerate([(c, s), (s, c)] * 3):
            data = bytes(range(i, i + 40))
            w = a.wrap(data)
            checks.append(b.unwrap(w.data).data == data)
            sig = a.sign(data)
            b.verify(data, sig)
            checks.append(True)
        out["traffic"] = all(checks)
        out["ok"] = (out["ntlm_available"] and out["client_impl"] == "GSSAPIProxy"
                     and out["server_impl"] == "GSSAPIProxy" and out["traffic"])
    except Exception as e:
        out["error"] = "%s: %s" % (type(e).__name__, e)
        out["trace"] = traceback.format_exc(limit=4)
    print(json.dumps(out))


if __name__ == "__main__":
    {"probe": probe, "pyspnego": pyspnego}[sys.argv[1]]()
