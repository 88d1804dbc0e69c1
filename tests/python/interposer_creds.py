"""Credential calls on a SPNEGO credential (issue 11), from python-gssapi, with Kerberos from a loopback KDC: the same
script runs with our SPNEGO interposer and with MIT's SPNEGO, and the test compares the answers.

argv[1] == "store": the default ccache's credential, acquired for SPNEGO, is asked gss_inquire_cred_by_oid and
stored (gss_store_cred_into) into the ccache file argv[2].
argv[1] == "export": the default credential, acquired for SPNEGO, is exported (gss_export_cred), imported back
(gss_import_cred) and used to authenticate to argv[2] (a host-based service); the acceptor names argv[3].
argv[1] == "impersonate": the default ccache holds the service's own TGT (HTTP/<argv[2]>); it impersonates the
user argv[3] (gss_acquire_cred_impersonate_name, S4U2Self) and authenticates to itself (HTTP@<argv[2]>) with the
result; the acceptor names the user.
Prints one JSON object; a failed call is {"error": ..., "maj": ...}.
"""
import json
import sys

import gssapi
import gssapi.raw as raw

SPNEGO = gssapi.OID.from_int_seq("1.3.6.1.5.5.2")
# GSS_KRB5_GET_CRED_IMPERSONATOR: the impersonator of an S4U2Self credential (none for a plain one).
GET_CRED_IMPERSONATOR = gssapi.OID.from_int_seq("1.2.840.113554.1.2.2.5.14")


def handshake(creds, target_name):
    """SPNEGO from `creds` to the host-based service `target_name`, accepted with the default credential."""
    target = gssapi.Name(target_name, gssapi.NameType.hostbased_service)
    ini = gssapi.SecurityContext(name=target, mech=SPNEGO, usage="initiate", creds=creds)
    acc = gssapi.SecurityContext(usage="accept")
    tok = ini.step()
    for _ in range(6):
        tok = acc.step(tok)
        if not ini.complete:
            tok = ini.step(tok)
        if ini.complete and acc.complete:
            break
    return acc


def attempt(f):
    try:
        return f()
    except gssapi.exceptions.GSSError as e:
        return {"error": type(e).__name__, "maj": e.maj_code, "text": e.gen_message()}


out = {}
if sys.argv[1] == "store":
    creds = gssapi.Credentials(usage="initiate", mechs=[SPNEGO])
    r = attempt(lambda: raw.inquire_cred_by_oid(creds, GET_CRED_IMPERSONATOR))
    out["inquire_cred_by_oid"] = r if isinstance(r, dict) else [len(b) for b in r]
    r = attempt(lambda: creds.store(store={"ccache": "FILE:" + sys.argv[2]}, usage="initiate", mech=SPNEGO,
                                    overwrite=True))
    out["store"] = r if isinstance(r, dict) else {
        "mechs": sorted(m.dotted_form for m in r.mechs), "usage": r.usage}
elif sys.argv[1] == "export":
    creds = gssapi.Credentials(usage="initiate", mechs=[SPNEGO])
    token = attempt(lambda: creds.export())
    if isinstance(token, dict):
        out["export"] = token
    else:
        out["export"] = "ok"
        out["token_has_bytes"] = len(token) > 0
        imported = attempt(lambda: gssapi.Credentials(token=token))
        if isinstance(imported, dict):
            out["import"] = imported
        else:
            out["import"] = "ok"
            acc = handshake(imported, sys.argv[2])
            out["mech"] = acc.mech.dotted_form
            out["peer_ok"] = str(acc.initiator_name) == sys.argv[3]
        garbage = attempt(lambda: gssapi.Credentials(token=token[:-3]))
        out["truncated_import"] = garbage if isinstance(garbage, dict) else "accepted"
else:
    host, user = sys.argv[2], sys.argv[3]
    svc = gssapi.Credentials(usage="initiate", mechs=[SPNEGO])
    name = gssapi.Name(user, gssapi.NameType.kerberos_principal)
    r = attempt(lambda: raw.acquire_cred_impersonate_name(svc, name, None, [SPNEGO], "initiate"))
    if isinstance(r, dict):
        out["impersonate"] = r
    else:
        out["impersonate"] = "ok"
        imp = r.creds
        acc = handshake(gssapi.Credentials(imp), "HTTP@" + host)
        out["mech"] = acc.mech.dotted_form
        out["peer"] = str(acc.initiator_name)
        r = attempt(lambda: raw.inquire_cred_by_oid(imp, GET_CRED_IMPERSONATOR))
        out["impersonator"] = r if isinstance(r, dict) else [b.decode(errors="replace") for b in r]
print(json.dumps(out, default=str))
