"""Kerberos delegation through the gss-negotiate SPNEGO interposer (python-gssapi, one process): the initiator asks
for delegation, the acceptor receives the delegated credential — the mechglue's own Kerberos credential, as MIT's
SPNEGO hands it on — stores it into a ccache, and uses it to authenticate again (Kerberos) as the user.
argv[1]: the host of HTTP/<host> (in the keytab named by KRB5_KTNAME); argv[2] (optional): a ccache file to store
the delegated credential into. Prints one JSON object.
"""
import json
import sys

import gssapi

SPNEGO = gssapi.OID.from_int_seq("1.3.6.1.5.5.2")
F = gssapi.RequirementFlag
target = gssapi.Name("HTTP@" + sys.argv[1], gssapi.NameType.hostbased_service)


def handshake(creds=None, mech=SPNEGO):
    ini = gssapi.SecurityContext(
        name=target, mech=mech, usage="initiate", creds=creds,
        flags=[F.delegate_to_peer, F.mutual_authentication, F.integrity, F.confidentiality],
    )
    acc = gssapi.SecurityContext(usage="accept")
    tok = ini.step()
    for _ in range(6):
        tok = acc.step(tok)
        if not ini.complete:
            tok = ini.step(tok)
        if ini.complete and acc.complete:
            return ini, acc
    raise SystemExit("no completion")


ini, acc = handshake()
out = {
    "mech": acc.mech.dotted_form,
    "peer": str(acc.initiator_name),
    "deleg_flag": F.delegate_to_peer in acc.actual_flags,
    "delegated": acc.delegated_creds is not None,
}
if acc.delegated_creds is not None and len(sys.argv) > 2:
    # Store the delegated credential into a ccache (gss_store_cred_into), as mod_auth_gssapi does.
    acc.delegated_creds.store(store={b"ccache": ("FILE:" + sys.argv[2]).encode()}, usage="initiate",
                              overwrite=True, set_default=False)
    out["stored"] = True
if acc.delegated_creds is not None:
    out["delegated_name"] = str(acc.delegated_creds.name)
    ini2, acc2 = handshake(acc.delegated_creds, gssapi.OID.from_int_seq("1.2.840.113554.1.2.2"))
    out["second_mech"] = acc2.mech.dotted_form
    out["second_peer"] = str(acc2.initiator_name)
print(json.dumps(out))
