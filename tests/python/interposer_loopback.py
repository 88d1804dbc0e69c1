"""SPNEGO through the gss-negotiate interposer from python-gssapi (whose extension modules are loaded without
RTLD_GLOBAL: the case where a plain call from the plugin could bind to the wrong gss_* function).

Initiator and acceptor in this process, mechanism SPNEGO, target host@<argv[1]>; the initiator uses default
credentials (NTLM_USER_FILE), the acceptor either none (argv[2] == "nocred" or "export": the interposer acquires
its own) or credentials acquired for SPNEGO ("cred"). "export" also writes the acceptor's exported context and a
message for it to argv[3]; "import" (argv[3]) imports them and unwraps the message. Prints one JSON object: the negotiated mechanism, the names, the messages
wrapped and unwrapped both ways, and an export/import of the acceptor's context.
"""
import json
import sys

import gssapi
import gssapi.raw as raw

SPNEGO = gssapi.OID.from_int_seq("1.3.6.1.5.5.2")

host, mode = sys.argv[1], sys.argv[2]
if mode == "import":
    # argv[3]: a file written by an "export" run (maybe in a process without the interposer line): the
    # acceptor's exported context, then a message the initiator wrapped for it.
    with open(sys.argv[3], "rb") as f:
        token_len = int.from_bytes(f.read(4), "big")
        token = f.read(token_len)
        wrapped = f.read()
    acc = gssapi.SecurityContext(token=token)
    print(json.dumps({"mech": acc.mech.dotted_form, "message": acc.unwrap(wrapped).message.decode()}))
    raise SystemExit(0)
target = gssapi.Name("host@" + host, gssapi.NameType.hostbased_service)
ini = gssapi.SecurityContext(name=target, mech=SPNEGO, usage="initiate")
if mode in ("nocred", "export"):
    acc = gssapi.SecurityContext(usage="accept")
else:
    creds = gssapi.Credentials(usage="accept", mechs=[SPNEGO])
    acc = gssapi.SecurityContext(creds=creds, usage="accept")
    # gssi_inquire_cred: the acceptor credential's name (the host service of the NTLM half) and usage.
    print(json.dumps({"cred_name": str(creds.name), "cred_usage": creds.usage}))

tok = ini.step()
rounds = 0
while not (ini.complete and acc.complete):
    rounds += 1
    if rounds > 6:
        raise SystemExit("no completion after 6 rounds")
    tok = acc.step(tok)
    if not ini.complete:
        tok = ini.step(tok)

out = {
    "rounds": rounds,
    "mech": acc.mech.dotted_form,
    "initiator_mech": ini.mech.dotted_form,
    "peer": str(acc.initiator_name),
}
w = ini.wrap(b"to the acceptor", True)
out["to_acceptor"] = acc.unwrap(w.message).message.decode()
w = acc.wrap(b"to the initiator", True)
out["to_initiator"] = ini.unwrap(w.message).message.decode()
mic = acc.get_signature(b"signed")
ini.verify_signature(b"signed", mic)
token = acc.export()
acc2 = gssapi.SecurityContext(token=token)
out["imported_mech"] = acc2.mech.dotted_form
w = ini.wrap(b"after import", True)
out["after_import"] = acc2.unwrap(w.message).message.decode()
if mode == "export":
    w = ini.wrap(b"for another process", True)
    token = acc2.export()
    with open(sys.argv[3], "wb") as f:
        f.write(len(token).to_bytes(4, "big") + token + w.message)
print(json.dumps(out))
