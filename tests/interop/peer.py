#!/usr/bin/python3
"""One side of an interoperability run (driven by tests/interop_*.rs through tests/common/peers.rs).

    peer.py server --impl IMPL --mode raw|spnego --port-file F      (listens on 127.0.0.1, writes its port to F)
    peer.py client --impl IMPL --mode raw|spnego --port P --sessions JSON

IMPL is `gssapi` (python-gssapi over MIT's mechglue: the mechanism is whatever GSS_MECH_CONFIG loads, i.e.
gss-negotiate or gss-ntlmssp), `pyspnego` (pyspnego's own pure-Python NTLM/SPNEGO, never the system GSSAPI) or
`impacket` (impacket's NTLM message encoder and signing/sealing functions; client only, raw NTLMSSP only).

The client drives: for each session of JSON (a list of {"name", "user", "password", "cb_client", "cb_server",
"ops"}), it runs the handshake with the server and then the listed operations, and records one result per feature.
The server only obeys. Frames on the socket: 1 type byte, 4-byte big-endian length, payload.
  T token, E error text (a failed step), J JSON command or answer.
At the end each side prints one JSON line {"role", "impl", "results": [{"session", "feature", "ok", "detail"}]}.
"ok" is True when the behaviour is the wanted one (for the tamper/negative features: when it was refused).
"""

import argparse
import binascii
import json
import os
import socket
import struct
import sys
import traceback

NTLM_OID = "1.3.6.1.4.1.311.2.2.10"
SPNEGO_OID = "1.3.6.1.5.5.2"
SESSION_KEY_OID = "1.2.840.113554.1.2.2.5.5"
TIMEOUT = 30

# The flags the application requests (the `flags` of a session; tests/common/matrix.rs FLAG_SETS): RFC 2744 bits,
# and GSS_C_DATAGRAM_FLAG as gss-ntlmssp (and gss-negotiate) define it, 0x10000.
GSS_DATAGRAM = 0x10000
FLAG_SETS = {
    "none": 0,
    "integ": 32,
    "conf_integ": 16 | 32,
    "mutual_replay": 2 | 4,  # MIT gss-client's default
    "sequence": 8,
    "datagram": GSS_DATAGRAM | 16 | 32,
}
_datagram_registered = False


def register_datagram_flag():
    """python-gssapi only passes flags that are members of its RequirementFlag enum, which it lets extensions add
    before the enum is built: add gss-ntlmssp's GSS_C_DATAGRAM_FLAG before gssapi is first imported."""
    global _datagram_registered
    if _datagram_registered or "gssapi" in sys.modules:
        return
    _datagram_registered = True
    import importlib.util
    spec = importlib.util.find_spec("gssapi")
    path = os.path.join(os.path.dirname(spec.origin), "raw", "_enum_extensions", "__init__.py")
    s = importlib.util.spec_from_file_location("gssapi.raw._enum_extensions", path)
    m = importlib.util.module_from_spec(s)
    s.loader.exec_module(m)
    m.register_value("RequirementFlag", "ntlmssp_datagram", GSS_DATAGRAM)
    sys.modules["gssapi.raw._enum_extensions"] = m


# GSS routine error numbers (RFC 2744 §3.9.1) for readable status names.
ROUTINE = {1: "GSS_S_BAD_MECH", 2: "GSS_S_BAD_NAME", 3: "GSS_S_BAD_NAMETYPE", 4: "GSS_S_BAD_BINDINGS",
           5: "GSS_S_BAD_STATUS", 6: "GSS_S_BAD_MIC", 7: "GSS_S_NO_CRED", 8: "GSS_S_NO_CONTEXT",
           9: "GSS_S_DEFECTIVE_TOKEN", 10: "GSS_S_DEFECTIVE_CREDENTIAL", 11: "GSS_S_CREDENTIALS_EXPIRED",
           12: "GSS_S_CONTEXT_EXPIRED", 13: "GSS_S_FAILURE", 14: "GSS_S_BAD_QOP", 15: "GSS_S_UNAUTHORIZED",
           16: "GSS_S_UNAVAILABLE", 17: "GSS_S_DUPLICATE_ELEMENT", 18: "GSS_S_NAME_NOT_MN"}
CALLING = {1: "GSS_S_CALL_INACCESSIBLE_READ", 2: "GSS_S_CALL_INACCESSIBLE_WRITE", 3: "GSS_S_CALL_BAD_STRUCTURE"}


def pattern(n, seed=0):
    return bytes(((i * 7 + 3 + seed) & 0xFF) for i in range(n))


def describe(exc):
    """Error text with the GSS routine error name when there is one."""
    maj = getattr(exc, "maj_code", None)
    text = str(exc).replace("\n", " ")
    if maj is not None:
        names = []
        if (maj >> 24) & 0xFF:
            names.append(CALLING.get((maj >> 24) & 0xFF, "calling error %d" % ((maj >> 24) & 0xFF)))
        if (maj >> 16) & 0xFF:
            names.append(ROUTINE.get((maj >> 16) & 0xFF, "routine error %d" % ((maj >> 16) & 0xFF)))
        return "%s: %s" % ("|".join(names) or "GSS_S_COMPLETE", text)
    return "%s: %s" % (type(exc).__name__, text)


# ---------------------------------------------------------------- framing
def send(sock, kind, payload):
    if isinstance(payload, str):
        payload = payload.encode()
    sock.sendall(kind + struct.pack(">I", len(payload)) + payload)


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("peer closed the connection")
        buf += chunk
    return buf


def recv(sock):
    head = recv_exact(sock, 5)
    (n,) = struct.unpack(">I", head[1:])
    return head[:1], recv_exact(sock, n)


def send_json(sock, obj):
    send(sock, b"J", json.dumps(obj))


def recv_json(sock):
    kind, payload = recv(sock)
    if kind != b"J":
        raise RuntimeError("expected a JSON frame, got %r" % kind)
    return json.loads(payload)


def hx(b):
    return binascii.hexlify(b).decode()


def unhx(s):
    return binascii.unhexlify(s)


# ---------------------------------------------------------------- implementations
class GssapiSide:
    """python-gssapi through MIT's mechglue."""

    def __init__(self, role, mode, session):
        register_datagram_flag()
        import gssapi
        import gssapi.raw as graw
        self.gssapi, self.graw = gssapi, graw
        mech = gssapi.OID.from_int_seq(NTLM_OID if mode == "raw" else SPNEGO_OID)
        self.mech = mech
        cb_hex = session.get("cb_client" if role == "client" else "cb_server")
        cb = graw.ChannelBindings(application_data=unhx(cb_hex)) if cb_hex else None
        host = session["hostname"]
        if role == "client":
            name = gssapi.Name("%s\\%s" % (session["domain"], session["user"]), gssapi.NameType.user)
            creds = graw.acquire_cred_with_password(name, session["password"].encode(), usage="initiate",
                                                    mechs=[mech]).creds
            if mode == "spnego" and hasattr(graw, "set_neg_mechs"):
                graw.set_neg_mechs(creds, [gssapi.OID.from_int_seq(NTLM_OID)])
            if "flags" in session:
                bits = FLAG_SETS[session["flags"]]
                flags = [gssapi.RequirementFlag(1 << i) for i in range(32) if bits & (1 << i)]
            else:
                flags = (gssapi.RequirementFlag.confidentiality | gssapi.RequirementFlag.integrity |
                         gssapi.RequirementFlag.replay_detection | gssapi.RequirementFlag.out_of_sequence_detection)
            target = gssapi.Name("host@%s" % host, gssapi.NameType.hostbased_service)
            self.ctx = gssapi.SecurityContext(name=target, creds=gssapi.Credentials(base=creds), mech=mech,
                                              usage="initiate", flags=flags, channel_bindings=cb)
        else:
            creds = gssapi.Credentials(usage="accept", mechs=[mech])
            self.ctx = gssapi.SecurityContext(creds=creds, usage="accept", channel_bindings=cb)

    def step(self, token):
        out = self.ctx.step(token)
        return out or b""

    def protected(self):
        f = int(self.ctx.actual_flags)
        return bool(f & (16 | 32))

    @property
    def complete(self):
        return self.ctx.complete

    def peer_name(self):
        return str(self.ctx.initiator_name)

    def session_key(self):
        oid = self.gssapi.OID.from_int_seq(SESSION_KEY_OID)
        res = self.graw.inquire_sec_context_by_oid(self.ctx, oid)
        return bytes(res[0]) if res else b""

    def wrap(self, data):
        res = self.ctx.wrap(data, True)
        if not res.encrypted:
            raise RuntimeError("wrap did not encrypt")
        return res.message

    def unwrap(self, token):
        res = self.ctx.unwrap(token)
        if not res.encrypted:
            raise RuntimeError("unwrap says the message was not encrypted")
        return res.message

    def mic(self, data):
        return self.ctx.get_signature(data)

    def verify(self, data, mic):
        self.ctx.verify_signature(data, mic)

    def export_import(self):
        blob = self.ctx.export()
        self.ctx = self.gssapi.SecurityContext(token=blob)
        return len(blob)


class PyspnegoSide:
    """pyspnego's own NTLM (raw) or its own SPNEGO with its own NTLM inside: never the system GSSAPI."""

    def __init__(self, role, mode, session):
        import spnego
        from spnego.channel_bindings import GssChannelBindings
        if mode == "raw":
            proto, opts = "ntlm", spnego.NegotiateOptions.use_ntlm
        else:
            proto, opts = "negotiate", spnego.NegotiateOptions.use_negotiate | spnego.NegotiateOptions.use_ntlm
        cb_hex = session.get("cb_client" if role == "client" else "cb_server")
        cb = GssChannelBindings(application_data=unhx(cb_hex)) if cb_hex else None
        kw = {}
        if role == "client" and "flags" in session:
            bits = FLAG_SETS[session["flags"]]
            if bits & GSS_DATAGRAM:
                raise NotImplementedError("n/a: pyspnego's NTLM has no datagram mode")
            # pyspnego's ContextReq uses the RFC 2744 bit values.
            kw["context_req"] = spnego.ContextReq(bits)
        if role == "client":
            self.ctx = spnego.client("%s\\%s" % (session["domain"], session["user"]), session["password"],
                                     hostname=session["hostname"], service="host", protocol=proto, options=opts,
                                     channel_bindings=cb, **kw)
        else:
            self.ctx = spnego.server(hostname=session["hostname"], service="host", protocol=proto, options=opts,
                                     channel_bindings=cb)

    def step(self, token):
        return self.ctx.step(token) or b""

    def protected(self):
        import spnego
        return bool(self.ctx.context_attr & (spnego.ContextReq.integrity | spnego.ContextReq.confidentiality))

    @property
    def complete(self):
        return self.ctx.complete

    def peer_name(self):
        return self.ctx.client_principal

    def session_key(self):
        return bytes(self.ctx.session_key)

    def wrap(self, data):
        res = self.ctx.wrap(data, encrypt=True)
        return res.data

    def unwrap(self, token):
        return self.ctx.unwrap(token).data

    def mic(self, data):
        return self.ctx.sign(data)

    def verify(self, data, mic):
        self.ctx.verify(data, mic)

    def export_import(self):
        raise NotImplementedError("pyspnego has no context export")


class ImpacketSide:
    """impacket's NTLM encoders (getNTLMSSPType1/Type3) and its SIGN/SEAL helpers: a client, raw NTLMSSP only."""

    def __init__(self, role, mode, session):
        if role != "client" or mode != "raw":
            raise NotImplementedError("impacket is driven as a raw NTLMSSP client only")
        if "flags" in session and FLAG_SETS[session["flags"]] & GSS_DATAGRAM:
            raise NotImplementedError("n/a: impacket's NTLM has no datagram mode")
        from impacket import ntlm
        self.ntlm = ntlm
        self.s = session
        self.state = 0
        self.done = False
        self.type1 = None

    def step(self, token):
        ntlm = self.ntlm
        if self.state == 0:
            self.type1 = ntlm.getNTLMSSPType1("IMPACKETPC", self.s["domain"], signingRequired=True,
                                              use_ntlmv2=True)
            bits = FLAG_SETS[self.s["flags"]] if "flags" in self.s else 16 | 32
            # As gss-ntlmssp maps them: confidentiality asks for SEAL (with key exchange), integrity, replay and
            # sequence detection for SIGN; nothing asked for, neither.
            if bits & 16:
                self.type1["flags"] |= (ntlm.NTLMSSP_NEGOTIATE_SEAL | ntlm.NTLMSSP_NEGOTIATE_KEY_EXCH |
                                        ntlm.NTLMSSP_NEGOTIATE_128 | ntlm.NTLMSSP_NEGOTIATE_56)
            if not bits & (4 | 8 | 16 | 32):
                self.type1["flags"] &= ~(ntlm.NTLMSSP_NEGOTIATE_SIGN | ntlm.NTLMSSP_NEGOTIATE_SEAL)
            self.state = 1
            return self.type1.getData()
        if self.state == 1:
            type3, key = ntlm.getNTLMSSPType3(self.type1, token, self.s["user"], self.s["password"],
                                              self.s["domain"], use_ntlmv2=True)
            self.key = key
            self.flags = type3["flags"]
            self.send_sign = ntlm.SIGNKEY(self.flags, key, "Client")
            self.recv_sign = ntlm.SIGNKEY(self.flags, key, "Server")
            from Cryptodome.Cipher import ARC4
            self.send_seal = ARC4.new(ntlm.SEALKEY(self.flags, key, "Client")).encrypt
            self.recv_seal = ARC4.new(ntlm.SEALKEY(self.flags, key, "Server")).encrypt
            self.send_seq = 0
            self.recv_seq = 0
            self.state = 2
            self.done = True
            return type3.getData()
        raise RuntimeError("impacket client has no more steps")

    @property
    def complete(self):
        return self.done

    def protected(self):
        return bool(self.flags & (self.ntlm.NTLMSSP_NEGOTIATE_SIGN | self.ntlm.NTLMSSP_NEGOTIATE_SEAL))

    def peer_name(self):
        raise NotImplementedError

    def session_key(self):
        return bytes(self.key)

    def wrap(self, data):
        sealed, sig = self.ntlm.SEAL(self.flags, self.send_sign, None, data, data, self.send_seq, self.send_seal)
        self.send_seq += 1
        return sig.getData() + sealed

    def unwrap(self, token):
        if len(token) < 16:
            raise ValueError("token too short")
        sig, sealed = token[:16], token[16:]
        plain = self.recv_seal(sealed)
        expect = self.ntlm.SIGN(self.flags, self.recv_sign, plain, self.recv_seq, self.recv_seal).getData()
        self.recv_seq += 1
        if expect != sig:
            raise ValueError("bad signature")
        return plain

    def mic(self, data):
        sig = self.ntlm.SIGN(self.flags, self.send_sign, data, self.send_seq, self.send_seal).getData()
        self.send_seq += 1
        return sig

    def verify(self, data, mic):
        expect = self.ntlm.SIGN(self.flags, self.recv_sign, data, self.recv_seq, self.recv_seal).getData()
        self.recv_seq += 1
        if expect != mic:
            raise ValueError("bad MIC")

    def export_import(self):
        raise NotImplementedError("impacket has no context export")


IMPLS = {"gssapi": GssapiSide, "pyspnego": PyspnegoSide, "impacket": ImpacketSide}


# ---------------------------------------------------------------- server
def serve(args):
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    lsock.settimeout(TIMEOUT)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(lsock.getsockname()[1]))
    os.rename(tmp, args.port_file)
    sock, _ = lsock.accept()
    sock.settimeout(TIMEOUT)
    results = []
    side = None
    session = None
    while True:
        try:
            kind, payload = recv(sock)
        except EOFError:
            break
        if kind == b"J":
            cmd = json.loads(payload)
            op = cmd["op"]
            if op == "begin":
                session = cmd["session"]
                try:
                    side = IMPLS[args.impl]("server", args.mode, session)
                    send_json(sock, {"ok": True})
                except Exception as e:
                    side = None
                    send_json(sock, {"ok": False, "err": describe(e)})
                continue
            if op == "bye":
                break
            try:
                reply = server_op(side, op, cmd)
            except Exception as e:
                reply = {"ok": False, "err": describe(e)}
            send_json(sock, reply)
        elif kind == b"T":
            # Exactly one answer frame per token.
            try:
                out = side.step(payload)
                done = side.complete
            except Exception as e:
                detail = describe(e)
                results.append({"session": session["name"], "feature": "accept", "ok": False, "detail": detail})
                send(sock, b"E", detail)
                continue
            send(sock, b"T", out)
            if done:
                results.append({"session": session["name"], "feature": "accept", "ok": True, "detail": ""})
        elif kind == b"E":
            results.append({"session": session["name"], "feature": "accept", "ok": False,
                            "detail": "initiator failed: " + payload.decode(errors="replace")})
    print(json.dumps({"role": "server", "impl": args.impl, "results": results}))


def server_op(side, op, cmd):
    if op == "info":
        info = {"ok": True, "complete": side.complete}
        try:
            info["name"] = side.peer_name()
        except Exception as e:
            info["name_err"] = describe(e)
        try:
            info["session_key"] = hx(side.session_key())
        except Exception as e:
            info["session_key_err"] = describe(e)
        return info
    if op == "unwrap":
        got = side.unwrap(unhx(cmd["token"]))
        want = pattern(cmd["len"], cmd.get("seed", 0))
        return {"ok": got == want, "err": "" if got == want else "plaintext differs (%d bytes)" % len(got)}
    if op == "wrap":
        return {"ok": True, "token": hx(side.wrap(pattern(cmd["len"], cmd.get("seed", 0))))}
    if op == "verify":
        side.verify(pattern(cmd["len"], cmd.get("seed", 0)), unhx(cmd["mic"]))
        return {"ok": True}
    if op == "mic":
        return {"ok": True, "mic": hx(side.mic(pattern(cmd["len"], cmd.get("seed", 0))))}
    if op == "export":
        n = side.export_import()
        return {"ok": True, "len": n}
    raise RuntimeError("unknown op " + op)


# ---------------------------------------------------------------- client
class Recorder:
    def __init__(self):
        self.results = []
        self.session = ""

    def add(self, feature, ok, detail=""):
        self.results.append({"session": self.session, "feature": feature, "ok": bool(ok), "detail": detail})
        return ok


def tamper(b, index):
    b = bytearray(b)
    if b:
        b[index % len(b)] ^= 0x01
    return bytes(b)


def handshake(sock, side, rec):
    """Returns True when both ends completed."""
    token = b""
    first = True
    while True:
        if first or not side.complete:
            try:
                out = side.step(token if not first else None)
            except Exception as e:
                detail = describe(e)
                send(sock, b"E", detail)
                rec.add("handshake", False, "initiator: " + detail)
                return False
            first = False
        else:
            out = b""
        if not out:
            if side.complete:
                return rec.add("handshake", True)
            if token:
                rec.add("handshake", False, "initiator produced no token but is not complete")
                return False
            # An empty first token: connectionless NTLM (MS-NLMP §1.3.1.3, gss-ntlmssp with GSS_C_DATAGRAM_FLAG)
            # starts with the server's CHALLENGE; hand the acceptor the empty token.
        send(sock, b"T", out)
        kind, payload = recv(sock)
        if kind == b"E":
            what = "acceptor (given an empty first token)" if not out else "acceptor"
            rec.add("handshake", False, what + ": " + payload.decode(errors="replace"))
            return False
        token = payload
        if side.complete:
            if token:
                rec.add("handshake", False, "acceptor sent a token after the initiator completed")
                return False
            return rec.add("handshake", True)
        if not token:
            # The acceptor is done; the initiator must finish without input (cannot with GSS): error.
            rec.add("handshake", False, "acceptor completed but the initiator is not complete")
            return False


def c2s_wrap(sock, side, rec, feature, size, seed=0, corrupt=False):
    try:
        tok = side.wrap(pattern(size, seed))
    except Exception as e:
        return rec.add(feature, False, "wrap: " + describe(e))
    if corrupt:
        tok = tamper(tok, len(tok) - 1 if size else 5)
    send_json(sock, {"op": "unwrap", "token": hx(tok), "len": size, "seed": seed})
    r = recv_json(sock)
    if corrupt:
        return rec.add(feature, not r["ok"], "acceptor unwrap: " + (r.get("err") or "ACCEPTED"))
    return rec.add(feature, r["ok"], "acceptor unwrap: " + r.get("err", ""))


def s2c_wrap(sock, side, rec, feature, size, seed=0, corrupt=False):
    send_json(sock, {"op": "wrap", "len": size, "seed": seed})
    r = recv_json(sock)
    if not r["ok"]:
        return rec.add(feature, False, "acceptor wrap: " + r.get("err", ""))
    tok = unhx(r["token"])
    if corrupt:
        tok = tamper(tok, len(tok) - 1 if size else 5)
    try:
        got = side.unwrap(tok)
    except Exception as e:
        return rec.add(feature, corrupt, "initiator unwrap: " + describe(e))
    if corrupt:
        return rec.add(feature, False, "initiator unwrap ACCEPTED a tampered token")
    return rec.add(feature, got == pattern(size, seed), "" if got == pattern(size, seed) else "plaintext differs")


def c2s_mic(sock, side, rec, feature, size=100, seed=0, corrupt=False):
    try:
        mic = side.mic(pattern(size, seed))
    except Exception as e:
        return rec.add(feature, False, "get_mic: " + describe(e))
    if corrupt:
        mic = tamper(mic, 6)
    send_json(sock, {"op": "verify", "mic": hx(mic), "len": size, "seed": seed})
    r = recv_json(sock)
    if corrupt:
        return rec.add(feature, not r["ok"], "acceptor verify_mic: " + (r.get("err") or "ACCEPTED"))
    return rec.add(feature, r["ok"], "acceptor verify_mic: " + r.get("err", ""))


def s2c_mic(sock, side, rec, feature, size=100, seed=0, corrupt=False):
    send_json(sock, {"op": "mic", "len": size, "seed": seed})
    r = recv_json(sock)
    if not r["ok"]:
        return rec.add(feature, False, "acceptor get_mic: " + r.get("err", ""))
    mic = unhx(r["mic"])
    if corrupt:
        mic = tamper(mic, 6)
    try:
        side.verify(pattern(size, seed), mic)
    except Exception as e:
        return rec.add(feature, corrupt, "initiator verify_mic: " + describe(e))
    return rec.add(feature, not corrupt, "initiator verify_mic ACCEPTED a tampered MIC" if corrupt else "")


def run_op(sock, side, rec, op, expect):
    if op == "name_and_key":
        send_json(sock, {"op": "info"})
        info = recv_json(sock)
        name = info.get("name")
        want = "%s\\%s" % (expect["domain"], expect["user"])
        rec.add("acceptor_name", name == want,
                "acceptor sees %r%s" % (name, (" (" + info["name_err"] + ")") if "name_err" in info else ""))
        try:
            mine = hx(side.session_key())
        except Exception as e:
            mine = None
            rec.add("session_key", False, "initiator: " + describe(e))
        if mine is not None:
            theirs = info.get("session_key")
            if theirs is None:
                rec.add("session_key", False, "acceptor: " + info.get("session_key_err", "no key"))
            else:
                rec.add("session_key", mine == theirs and len(mine) == 32,
                        "initiator %s, acceptor %s" % (mine, theirs))
    elif op == "wrap_sizes":
        for size in (0, 1, 1024, 65536):
            c2s_wrap(sock, side, rec, "wrap_c2s_%d" % size, size)
            s2c_wrap(sock, side, rec, "wrap_s2c_%d" % size, size)
    elif op == "mic":
        c2s_mic(sock, side, rec, "mic_c2s")
        s2c_mic(sock, side, rec, "mic_s2c")
    elif op == "interleaved":
        ok = True
        for i in range(10):
            sub = Recorder()
            sub.session = rec.session
            ok &= c2s_wrap(sock, side, sub, "x", 33 + i, seed=i)
            ok &= s2c_mic(sock, side, sub, "x", 20 + i, seed=i)
            ok &= s2c_wrap(sock, side, sub, "x", 50 + i, seed=i)
            ok &= c2s_mic(sock, side, sub, "x", 70 + i, seed=i)
            if not ok:
                rec.add("interleaved_10", False, "round %d: %s" % (i, [r["detail"] for r in sub.results
                                                                      if not r["ok"]]))
                return
        rec.add("interleaved_10", True)
    elif op in ("export_initiator", "export_acceptor"):
        try:
            if op == "export_initiator":
                n = side.export_import()
            else:
                send_json(sock, {"op": "export"})
                r = recv_json(sock)
                if not r["ok"]:
                    raise RuntimeError("acceptor: " + r.get("err", ""))
                n = r["len"]
        except Exception as e:
            rec.add(op, False, describe(e))
            return
        ok = c2s_wrap(sock, side, Recorder(), "x", 300, seed=9) and s2c_wrap(sock, side, Recorder(), "x", 301, 9)
        ok = ok and c2s_mic(sock, side, Recorder(), "x", seed=9) and s2c_mic(sock, side, Recorder(), "x", seed=9)
        rec.add(op, ok, "exported %d bytes; traffic after import %s" % (n, "ok" if ok else "FAILED"))
    elif op == "tamper_wrap_c2s":
        c2s_wrap(sock, side, Recorder(), "x", 40, seed=5)
        c2s_wrap(sock, side, rec, op, 40, seed=6, corrupt=True)
    elif op == "tamper_wrap_s2c":
        s2c_wrap(sock, side, Recorder(), "x", 40, seed=5)
        s2c_wrap(sock, side, rec, op, 40, seed=6, corrupt=True)
    elif op == "tamper_mic_c2s":
        c2s_mic(sock, side, Recorder(), "x", seed=5)
        c2s_mic(sock, side, rec, op, seed=6, corrupt=True)
    elif op == "tamper_mic_s2c":
        s2c_mic(sock, side, Recorder(), "x", seed=5)
        s2c_mic(sock, side, rec, op, seed=6, corrupt=True)
    elif op == "one_wrap":
        c2s_wrap(sock, side, rec, "traffic", 64, seed=3)
    elif op == "flags_traffic":
        flags_traffic(sock, side, rec)
    else:
        raise RuntimeError("unknown op " + op)


def flags_traffic(sock, side, rec):
    """Per-message tokens both ways for a session with application-chosen flags, then a tampered MIC and a tampered
    wrap token in the middle of each direction's stream, each followed by genuine ones that must still verify.
    When the initiator's context negotiated neither integrity nor confidentiality there is nothing to protect:
    the rows say n/a."""
    if not side.protected():
        for f in ("traffic", "midstream_c2s", "midstream_s2c"):
            rec.add(f, True, "n/a: the context negotiated neither integrity nor confidentiality")
        return
    steps = []
    def run(name, fn, *a, **kw):
        sub = Recorder()
        sub.session = rec.session
        ok = fn(sock, side, sub, "x", *a, **kw)
        if not ok:
            steps.append("%s: %s" % (name, sub.results[-1]["detail"] if sub.results else "?"))
        return ok
    ok = (run("wrap c2s", c2s_wrap, 64, seed=1) & run("wrap s2c", s2c_wrap, 64, seed=1)
          & run("mic c2s", c2s_mic, 50, seed=1) & run("mic s2c", s2c_mic, 50, seed=1))
    rec.add("traffic", ok, "; ".join(steps))
    for direction, wrap_fn, mic_fn in (("c2s", c2s_wrap, c2s_mic), ("s2c", s2c_wrap, s2c_mic)):
        steps = []
        ok = True
        ok &= run("genuine MIC 1", mic_fn, 40, seed=11)
        ok &= run("genuine MIC 2", mic_fn, 40, seed=12)
        ok &= run("tampered MIC refused", mic_fn, 40, seed=13, corrupt=True)
        ok &= run("genuine MIC after the tampered one", mic_fn, 40, seed=14)
        ok &= run("genuine wrap", wrap_fn, 100, seed=15)
        ok &= run("tampered wrap refused", wrap_fn, 100, seed=16, corrupt=True)
        ok &= run("genuine wrap after the tampered one", wrap_fn, 100, seed=17)
        ok &= run("genuine MIC at the end", mic_fn, 40, seed=18)
        rec.add("midstream_" + direction, ok, "; ".join(steps))


def client(args):
    sessions = json.loads(args.sessions)
    rec = Recorder()
    try:
        sock = socket.create_connection(("127.0.0.1", args.port), timeout=TIMEOUT)
        sock.settimeout(TIMEOUT)
        for s in sessions:
            rec.session = s["name"]
            run_session(sock, s, args, rec)
        send_json(sock, {"op": "bye"})
    except Exception as e:
        rec.add("harness", False, "client stopped: " + describe(e) + " " + traceback.format_exc(limit=3))
    print(json.dumps({"role": "client", "impl": args.impl, "results": rec.results}))


def run_session(sock, s, args, rec):
    send_json(sock, {"op": "begin", "session": s})
    r = recv_json(sock)
    if not r["ok"]:
        rec.add("handshake", False, "acceptor setup: " + r["err"])
        return
    try:
        side = IMPLS[args.impl]("client", args.mode, s)
    except NotImplementedError as e:
        # The peer lacks the feature (e.g. datagram NTLM): not a failure of anyone's.
        rec.add("handshake", True, str(e))
        send(sock, b"E", str(e))
        return
    except Exception as e:
        rec.add("handshake", False, "initiator setup: " + describe(e))
        send(sock, b"E", describe(e))
        return
    if not handshake(sock, side, rec):
        return
    for op in s.get("ops", []):
        try:
            run_op(sock, side, rec, op, s)
        except (EOFError, OSError):
            raise
        except Exception as e:
            rec.add(op, False, "exception: " + describe(e) + " " + traceback.format_exc(limit=2))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("role", choices=["client", "server"])
    p.add_argument("--impl", choices=sorted(IMPLS), required=True)
    p.add_argument("--mode", choices=["raw", "spnego"], required=True)
    p.add_argument("--port-file")
    p.add_argument("--port", type=int)
    p.add_argument("--sessions")
    args = p.parse_args()
    sys.stdout.flush()
    if args.role == "server":
        serve(args)
    else:
        client(args)


if __name__ == "__main__":
    main()
