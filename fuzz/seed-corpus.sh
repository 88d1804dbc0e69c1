#!/bin/sh
# Seeds fuzz/corpus/<target>/ with the captured NTLM tokens from tests/data/tokens (MS-NLMP §2.2 messages).
# Every captured token (raw NTLM, SPNEGO, Kerberos-in-GSS) seeds fuzz_spnego and fuzz_cli_decode.
# The NTLM message inside each SPNEGO token is cut out at its NTLMSSP signature (to the end of the token:
# the decoders ignore trailing bytes). AV-pair and NTLMv2-blob seeds are extracted from the messages.
# Needs python3 for the extraction of inner pieces; without it only whole messages are copied.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tokens="$here/../tests/data/tokens"
corpus="$here/corpus"
mkdir -p "$corpus/fuzz_negotiate" "$corpus/fuzz_challenge" "$corpus/fuzz_authenticate" \
         "$corpus/fuzz_av_pairs" "$corpus/fuzz_ntlmv2_blob" "$corpus/fuzz_spnego" "$corpus/fuzz_cli_decode"
cp "$tokens"/*.bin "$corpus/fuzz_spnego/"
cp "$tokens"/*.bin "$corpus/fuzz_cli_decode/"

if command -v python3 >/dev/null 2>&1; then
python3 - "$tokens" "$corpus" <<'PY'
import os, struct, sys
tokens, corpus = sys.argv[1], sys.argv[2]
targets = {1: "fuzz_negotiate", 2: "fuzz_challenge", 3: "fuzz_authenticate"}
def field(b, at):
    ln, _, off = struct.unpack_from("<HHI", b, at)
    return b[off:off + ln]
def put(target, name, data):
    with open(os.path.join(corpus, target, name), "wb") as f:
        f.write(data)
for name in sorted(os.listdir(tokens)):
    if not name.endswith(".bin"):
        continue
    raw = open(os.path.join(tokens, name), "rb").read()
    at = raw.find(b"NTLMSSP\0")
    if at < 0 or len(raw) < at + 12:
        continue
    msg = raw[at:]
    ty = struct.unpack_from("<I", msg, 8)[0]
    if ty not in targets:
        continue
    put(targets[ty], name, msg)
    if ty == 2 and len(msg) >= 48:
        ti = field(msg, 40)
        if ti:
            put("fuzz_av_pairs", name, ti)
    if ty == 3 and len(msg) >= 64:
        nt = field(msg, 20)
        if len(nt) > 44:
            put("fuzz_ntlmv2_blob", name, nt)
            put("fuzz_av_pairs", name, nt[44:])
PY
else
  for f in "$tokens"/*.bin; do
    case "$(basename "$f")" in
      *negotiate*|*_1_client*) cp "$f" "$corpus/fuzz_negotiate/" ;;
      *challenge*|*_2_server*) cp "$f" "$corpus/fuzz_challenge/" ;;
      *authenticate*|*_3_client*) cp "$f" "$corpus/fuzz_authenticate/" ;;
    esac
  done
fi
# The SPNEGO state machines take a configuration byte and u16-LE-length-prefixed tokens: the captured SPNEGO
# tokens become one-token inputs for every configuration; the policy parser gets the example of docs/policy.md.
if command -v python3 >/dev/null 2>&1; then
python3 - "$tokens" "$corpus" "$here/../docs/policy.md" <<'PY'
import os, struct, sys
tokens, corpus, doc = sys.argv[1:4]
for t in ("fuzz_spnego_acceptor", "fuzz_spnego_initiator", "fuzz_policy"):
    os.makedirs(os.path.join(corpus, t), exist_ok=True)
for name in sorted(os.listdir(tokens)):
    if "spnego" not in name or not name.endswith(".bin"):
        continue
    raw = open(os.path.join(tokens, name), "rb").read()
    for cfg in (0, 3, 7, 11):
        target = "fuzz_spnego_acceptor" if "client" in name or "negtokeninit" in name else "fuzz_spnego_initiator"
        with open(os.path.join(corpus, target, "%s-%d" % (name, cfg)), "wb") as f:
            f.write(bytes([cfg]) + struct.pack("<H", len(raw)) + raw)
text = open(doc).read()
if "```\n# Kerberos" in text:
    example = text.split("```\n# Kerberos", 1)[1].split("```", 1)[0]
    open(os.path.join(corpus, "fuzz_policy", "docs-example"), "w").write("# Kerberos" + example)
PY
fi
# Targets whose inputs are not captured tokens (exported contexts, session states, credentials, names, user
# files, exchange configurations) get seeds from real in-process exchanges, made by examples/gen_seeds.rs.
# GEN_SEEDS=0 skips this (it builds the library once without instrumentation, about a minute).
if [ "${GEN_SEEDS:-1}" = 1 ] && command -v cargo >/dev/null 2>&1; then
  seed_target=${SEED_TARGET_DIR:-${CARGO_TARGET_DIR:-$here/target}/gen-seeds}
  CARGO_TARGET_DIR=$seed_target cargo run -q --manifest-path "$here/Cargo.toml" --example gen_seeds -- "$corpus"
fi
for t in "$corpus"/*; do echo "$(basename "$t"): $(ls "$t" | wc -l) seeds"; done
