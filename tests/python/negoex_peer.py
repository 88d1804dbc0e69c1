"""A SPNEGO peer for tests/interposer_negoex.rs (python-gssapi; whichever SPNEGO the process's GSS_MECH_CONFIG
gives: MIT's, or gss-negotiate's interposer).

  negoex_peer.py loopback HOST CREDMODE       initiator and acceptor in this process
  negoex_peer.py accept SOCKET CREDMODE       acceptor: listens on the Unix socket SOCKET (one connection)
  negoex_peer.py init SOCKET HOST CREDMODE    initiator: connects to SOCKET

Target host@HOST; CREDMODE "default" (no credential: GSS_C_NO_CREDENTIAL) or "cred" (a credential acquired for
SPNEGO with the role's usage). Tokens go over the socket as 4-byte big-endian length + bytes. After the handshake
each side tries a MIC (initiator signs, acceptor verifies), a wrap (acceptor wraps, initiator unwraps) and an
export of its context; a failure is recorded (the GSS major status text), not fatal. Prints one JSON object per
side (role, rounds, the negotiated mechanism as both ends report it, and the outcomes).
"""
import json
import os
import socket
import struct
import sys

import gssapi
import gssapi.raw as raw

SPNEGO = gssapi.OID.from_int_seq("1.3.6.1.5.5.2")


def creds_for(usage, mode):
    if mode == "cred":
        return gssapi.Credentials(usage=usage, mechs=[SPNEGO])
    return None


def attempt(f):
    try:
        r = f()
        return ("ok", r)
    except gssapi.exceptions.GSSError as e:
        return ("error: %s" % e.gen_message().split("\n")[0].strip(), None)


def send(s, b):
    s.sendall(struct.pack(">I", len(b)) + b)


def recv(s):
    head = b""
    while len(head) < 4:
        c = s.recv(4 - len(head))
        if not c:
            raise SystemExit("peer closed")
        head += c
    n = struct.unpack(">I", head)[0]
    body = b""
    while len(body) < n:
        c = s.recv(n - len(body))
        if not c:
            raise SystemExit("peer closed")
        body += c
    return body


class Ctx:
    """A context driven through the raw API, remembering the mechanism init/accept reported."""

    def __init__(self, usage, mode, target=None):
        self.usage, self.target, self.ctx, self.mech, self.complete = usage, target, None, None, False
        self.creds = creds_for(usage, mode)

    def step(self, token=None):
        if self.usage == "initiate":
            r = raw.init_sec_context(self.target, self.creds, self.ctx, SPNEGO, input_token=token)
        else:
            r = raw.accept_sec_context(token, self.creds, self.ctx)
        self.ctx, self.mech, self.complete = r.context, r.mech, not r.more_steps
        return r.token

    def get_signature(self, msg):
        return raw.get_mic(self.ctx, msg)

    def verify_signature(self, msg, mic):
        return raw.verify_mic(self.ctx, msg, mic)

    def wrap(self, msg, conf):
        return raw.wrap(self.ctx, msg, conf)

    def unwrap(self, tok):
        return raw.unwrap(self.ctx, tok)

    def export(self):
        return raw.export_sec_context(self.ctx)


def dotted(oid):
    """The OID's dotted form, or its DER content in hex when python-gssapi cannot decode it."""
    if oid is None:
        return None
    try:
        return oid.dotted_form
    except (IndexError, ValueError):
        return "hex:" + bytes(oid).hex()


def describe(ctx, role, rounds):
    res = {"role": role, "rounds": rounds, "complete": ctx.complete, "mech": dotted(ctx.mech)}
    # gss_inquire_context's mechanism (the MIT test mechanism has no gss_inquire_context: that is an error there).
    status, m = attempt(lambda: raw.inquire_context(ctx.ctx, initiator_name=False, target_name=False,
                                                    lifetime=False, flags=False, locally_init=False,
                                                    complete=False).mech)
    res["inquire_mech"] = dotted(m) if m else status
    return res


def export(ctx):
    status, _ = attempt(lambda: ctx.export())
    return status


def loopback(host, mode):
    target = gssapi.Name("host@" + host, gssapi.NameType.hostbased_service)
    ini = Ctx("initiate", mode, target)
    acc = Ctx("accept", mode)
    tok = ini.step()
    rounds = 0
    while not (ini.complete and acc.complete):
        rounds += 1
        if rounds > 10:
            raise SystemExit("no completion after 10 rounds")
        tok = acc.step(tok)
        if not ini.complete:
            tok = ini.step(tok)
    out_i, out_a = describe(ini, "init", rounds), describe(acc, "accept", rounds)
    mic_status, mic = attempt(lambda: ini.get_signature(b"negoex"))
    out_i["get_mic"] = mic_status
    out_a["verify_mic"] = attempt(lambda: acc.verify_signature(b"negoex", mic))[0] if mic else "no mic"
    wrap_status, w = attempt(lambda: acc.wrap(b"to the initiator", True))
    out_a["wrap"] = wrap_status
    out_i["unwrap"] = attempt(lambda: ini.unwrap(w.message).message.decode())[1] if w else "no token"
    # The initiator's context exported and imported again, then used: the acceptor wraps, the import unwraps.
    status, token = attempt(lambda: ini.export())
    out_i["export"] = status
    if token:
        status, imported = attempt(lambda: raw.import_sec_context(token))
        out_i["import"] = status
        if imported is not None and w is not None:
            w2 = acc.wrap(b"after import", True)
            out_i["after_import"] = attempt(lambda: raw.unwrap(imported, w2.message).message.decode())[1]
    out_a["export"] = export(acc)
    print(json.dumps(out_i))
    print(json.dumps(out_a))


def acceptor(path, mode):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # Relative to its directory: a socket path is limited to 107 bytes.
    os.chdir(os.path.dirname(path) or ".")
    srv.bind(os.path.basename(path))
    srv.listen(1)
    print(json.dumps({"listening": path}), flush=True)
    s, _ = srv.accept()
    acc = Ctx("accept", mode)
    rounds = 0
    while not acc.complete:
        rounds += 1
        out = acc.step(recv(s))
        send(s, out or b"")
    res = describe(acc, "accept", rounds)
    mic = recv(s)
    res["verify_mic"] = attempt(lambda: acc.verify_signature(b"negoex", mic))[0] if mic else "no mic"
    wrap_status, w = attempt(lambda: acc.wrap(b"to the initiator", True))
    res["wrap"] = wrap_status
    send(s, w.message if w else b"")
    res["export"] = export(acc)
    print(json.dumps(res))


def initiator(path, host, mode):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    os.chdir(os.path.dirname(path) or ".")
    s.connect(os.path.basename(path))
    target = gssapi.Name("host@" + host, gssapi.NameType.hostbased_service)
    ini = Ctx("initiate", mode, target)
    tok = ini.step()
    rounds = 0
    while True:
        rounds += 1
        send(s, tok or b"")
        back = recv(s)
        if ini.complete:
            break
        tok = ini.step(back)
        if ini.complete and not tok:
            break
    res = describe(ini, "init", rounds)
    if tok and ini.complete:
        # The last token still goes to the acceptor (it has not completed yet).
        recv(s)
    mic_status, mic = attempt(lambda: ini.get_signature(b"negoex"))
    res["get_mic"] = mic_status
    send(s, mic or b"")
    w = recv(s)
    res["unwrap"] = attempt(lambda: ini.unwrap(w).message.decode())[1] if w else "no token"
    res["export"] = export(ini)
    print(json.dumps(res))


if __name__ == "__main__":
    role = sys.argv[1]
    if role == "loopback":
        loopback(sys.argv[2], sys.argv[3])
    elif role == "accept":
        acceptor(sys.argv[2], sys.argv[3])
    elif role == "init":
        initiator(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        raise SystemExit("unknown role " + role)
