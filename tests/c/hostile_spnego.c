/* Hostile SPNEGO tokens through MIT's mechglue (issue 11): links -lgssapi_krb5 only, never the plugin; the
 * configuration (GSS_MECH_CONFIG) decides who negotiates SPNEGO — with our interposer line, our engine behind the
 * gssi_* entry points; without it, MIT's own SPNEGO (the harness's control run).
 *
 * Live SPNEGO+NTLM handshakes (initiator and acceptor in this process, credentials GSS_C_NO_CREDENTIAL: the
 * defaults from NTLM_USER_FILE; Kerberos unreachable, so NTLM is negotiated) are run, and at every leg
 * (leg 0 NegTokenInit → accept, leg 1 NegTokenResp → init, leg 2 NegTokenResp → accept, leg 3 → init) the live
 * token is replaced by a hostile one:
 *   - every truncation, one bit flipped in every byte, every byte set to 0xff, appended garbage (1, 16, 4096 bytes);
 *   - the outer tag replaced (0x00 0x04 0x30 0x60 0xa0 0xa1 0xa2 0xff), the outer length made huge
 *     (0x84 ffffffff, 0x88 + 8 bytes), indefinite (0x80, BER) or off by one;
 *   - NegTokenInit/NegTokenResp re-encoded field by field: each field dropped, duplicated, fields reordered,
 *     negState 0/1/2/3/7/255 and as INTEGER, supportedMech krb5/SPNEGO/garbage, mechTypes empty/unknown-only/
 *     5,000 entries, mechToken/responseToken garbage/1 MiB/wrong type, mechListMIC garbage/empty/1 MiB/wrong
 *     type/added where there was none, a NegTokenInit where a NegTokenResp belongs and the reverse;
 *   - a reject (negState=reject) at every leg — and after every error the failed side is called again with the
 *     live token and with an empty one ("a reject then more tokens").
 *
 * Every case must end, within 12 calls, in a GSS error or a consistent result:
 *   - no CONTINUE_NEEDED with an empty output token (a stall); with HOSTILE_STRICT=1 also no calling error
 *     (GSS_CALLING_ERROR: MIT's own SPNEGO returns GSS_S_CALL_INACCESSIBLE_READ for an empty mechListMIC, so the
 *     control run counts them only);
 *   - when both sides complete, the acceptor names TESTDOM\testuser and wrap/unwrap works both ways;
 *   - the acceptor never completes from an AUTHENTICATE whose NTProofStr was changed.
 * Prints per-leg counts and "total hostile cases: N, failures: F"; exits 1 on any failure.
 *
 * Usage: hostile_spnego <target, e.g. host@myhost> [quick]   ("quick" samples positions, for valgrind). */
#define _GNU_SOURCE
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static gss_OID_desc spnego_oid = {6, (void *)"\x2b\x06\x01\x05\x05\x02"};
static const char *target;
static gss_name_t target_name = GSS_C_NO_NAME;
static int quick, strict, failures;
static long calling_errors;

#define MAXLEGS 6
#define MAXTOK (2u << 20)

struct counts {
    long cases, errors, completes, retries;
};
static struct counts counts[MAXLEGS];
static const char *leg_names[MAXLEGS] = {"leg0 NegTokenInit->accept", "leg1 NegTokenResp->init",
                                         "leg2 NegTokenResp->accept", "leg3 NegTokenResp->init",
                                         "leg4 ->accept", "leg5 ->init"};

#define FAIL(...)                                                                                                \
    do {                                                                                                         \
        failures++;                                                                                              \
        fprintf(stderr, "FAIL: " __VA_ARGS__);                                                                   \
        fputc('\n', stderr);                                                                                     \
    } while (0)

/* ---- a growable byte buffer ---- */
struct buf {
    uint8_t *p;
    size_t n, cap;
};
static void put(struct buf *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort();
    }
    if (n) memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void put_len(struct buf *b, size_t n)
{
    uint8_t h[5];
    if (n < 0x80) {
        h[0] = (uint8_t)n;
        put(b, h, 1);
    } else if (n < 0x100) {
        h[0] = 0x81, h[1] = (uint8_t)n;
        put(b, h, 2);
    } else if (n < 0x10000) {
        h[0] = 0x82, h[1] = (uint8_t)(n >> 8), h[2] = (uint8_t)n;
        put(b, h, 3);
    } else {
        h[0] = 0x83, h[1] = (uint8_t)(n >> 16), h[2] = (uint8_t)(n >> 8), h[3] = (uint8_t)n;
        put(b, h, 4);
    }
}
static void put_tlv(struct buf *b, uint8_t tag, const void *c, size_t n)
{
    put(b, &tag, 1);
    put_len(b, n);
    put(b, c, n);
}

/* ---- a small DER reader: one TLV (definite lengths up to 4 bytes) ---- */
struct tlv {
    uint8_t tag;
    const uint8_t *c; /* contents */
    size_t n;         /* contents length */
    size_t total;     /* header + contents */
};
static int read_tlv(const uint8_t *p, size_t len, struct tlv *t)
{
    if (len < 2) return 0;
    size_t h = 2, n = p[1];
    if (n & 0x80) {
        size_t k = n & 0x7f;
        if (k == 0 || k > 4 || len < 2 + k) return 0;
        n = 0;
        for (size_t i = 0; i < k; i++) n = (n << 8) | p[2 + i];
        h += k;
    }
    if (n > len - h) return 0;
    t->tag = p[0], t->c = p + h, t->n = n, t->total = h + n;
    return 1;
}

/* A NegotiationToken split into its [i] fields (contents of each context tag). */
struct neg {
    int init; /* 1: InitialContextToken with NegTokenInit; 0: NegTokenResp */
    int present[5];
    const uint8_t *f[5];
    size_t fn[5];
};
static int parse_neg(const uint8_t *p, size_t n, struct neg *g)
{
    struct tlv t, s, x;
    memset(g, 0, sizeof *g);
    if (!read_tlv(p, n, &t)) return 0;
    if (t.tag == 0x60) {
        struct tlv oid;
        if (!read_tlv(t.c, t.n, &oid) || oid.tag != 0x06) return 0;
        if (!read_tlv(t.c + oid.total, t.n - oid.total, &x) || x.tag != 0xa0) return 0;
        g->init = 1;
    } else if (t.tag == 0xa1) {
        x = t;
    } else {
        return 0;
    }
    if (!read_tlv(x.c, x.n, &s) || s.tag != 0x30) return 0;
    for (size_t off = 0; off < s.n;) {
        struct tlv e;
        if (!read_tlv(s.c + off, s.n - off, &e) || e.tag < 0xa0 || e.tag > 0xa4) return 0;
        g->present[e.tag - 0xa0] = 1, g->f[e.tag - 0xa0] = e.c, g->fn[e.tag - 0xa0] = e.n;
        off += e.total;
    }
    return 1;
}

/* Re-encodes `g` with its fields in `order` (indices, -1 ends; an index may repeat). */
static void encode_neg(const struct neg *g, const int *order, struct buf *out)
{
    struct buf seq = {0}, body = {0}, choice = {0};
    for (int i = 0; order[i] >= 0; i++)
        if (g->present[order[i]]) put_tlv(&seq, (uint8_t)(0xa0 + order[i]), g->f[order[i]], g->fn[order[i]]);
    put_tlv(&body, 0x30, seq.p, seq.n);
    if (g->init) {
        put_tlv(&choice, 0xa0, body.p, body.n);
        struct buf inner = {0};
        put_tlv(&inner, 0x06, spnego_oid.elements, spnego_oid.length);
        put(&inner, choice.p, choice.n);
        put_tlv(out, 0x60, inner.p, inner.n);
        free(inner.p);
    } else {
        put_tlv(out, 0xa1, body.p, body.n);
    }
    free(seq.p), free(body.p), free(choice.p);
}
static const int order_std[] = {0, 1, 2, 3, 4, -1};

/* ---- the handshake driver ---- */
static uint8_t genuine[MAXLEGS][4096]; /* the last live token seen per leg (for the "init where resp" cases) */
static size_t genuine_n[MAXLEGS];
static int legs_seen;

/* A mutation: fills `out` from the live token `in` (of leg `leg`); returns 0 when it does not apply. */
typedef int (*mutator)(int leg, const uint8_t *in, size_t n, long arg, struct buf *out);

struct outcome {
    int i_done, a_done, error;
};

/* NTProofStr position of an NTLM AUTHENTICATE inside `tok` (absolute offset), or -1. */
static long ntproofstr_at(const uint8_t *tok, size_t n, size_t *len)
{
    for (size_t i = 0; i + 64 <= n; i++) {
        if (memcmp(tok + i, "NTLMSSP\0\x03\0\0\0", 12) != 0) continue;
        const uint8_t *m = tok + i;
        size_t nt_len = m[20] | (size_t)m[21] << 8;
        size_t nt_off = m[24] | (size_t)m[25] << 8 | (size_t)m[26] << 16 | (size_t)m[27] << 24;
        if (nt_len < 16 || nt_off > n - i || nt_len > n - i - nt_off) return -1;
        *len = 16;
        return (long)(i + nt_off);
    }
    return -1;
}

static void wrap_check(gss_ctx_id_t from, gss_ctx_id_t to, const char *what)
{
    OM_uint32 min, maj;
    const char msg[] = "hostile spnego: message after a completed negotiation";
    gss_buffer_desc in = {sizeof msg, (void *)msg}, tok = GSS_C_EMPTY_BUFFER, out = GSS_C_EMPTY_BUFFER;
    maj = gss_wrap(&min, from, 1, GSS_C_QOP_DEFAULT, &in, NULL, &tok);
    if (!GSS_ERROR(maj)) maj = gss_unwrap(&min, to, &tok, &out, NULL, NULL);
    if (GSS_ERROR(maj) || out.length != sizeof msg || memcmp(out.value, msg, sizeof msg) != 0)
        FAIL("%s: both sides complete but wrap/unwrap fails (major 0x%x)", what, maj);
    gss_release_buffer(&min, &tok);
    gss_release_buffer(&min, &out);
}

/* One case: a live handshake whose token at `leg` is replaced by mut(leg, token, arg). Returns 0 when the
 * mutation did not apply (nothing counted). With mut == NULL: the genuine handshake (records the legs). */
static int run_case(int leg, mutator mut, long arg, const char *what)
{
    OM_uint32 maj, min, imaj = GSS_S_CONTINUE_NEEDED, amaj = GSS_S_CONTINUE_NEEDED;
    gss_ctx_id_t ic = GSS_C_NO_CONTEXT, ac = GSS_C_NO_CONTEXT;
    gss_name_t src = GSS_C_NO_NAME;
    struct buf cur = {0};
    int applied = mut == NULL, i_done = 0, a_done = 0, err = 0, proof_changed = 0;
    char label[160];
    for (int step = 0; step < 12; step++) {
        int acceptor = step % 2 == 1;
        /* the token consumed at this step was produced at step-1 (leg step-1) */
        if (step > 0) {
            int l = step - 1;
            if (l < MAXLEGS && mut == NULL && cur.n <= sizeof genuine[l]) {
                memcpy(genuine[l], cur.p, cur.n);
                genuine_n[l] = cur.n;
                if (l + 1 > legs_seen) legs_seen = l + 1;
            }
            if (l == leg && mut) {
                struct buf m = {0};
                if (!mut(l, cur.p, cur.n, arg, &m)) {
                    free(m.p);
                    goto out;
                }
                applied = 1;
                size_t plen;
                long at = ntproofstr_at(cur.p, cur.n, &plen);
                if (at >= 0 && !memmem(m.p, m.n, cur.p + at, plen)) proof_changed = 1;
                free(cur.p);
                cur = m;
            }
        }
        gss_buffer_desc in = {cur.n, cur.p}, out = GSS_C_EMPTY_BUFFER;
        if (acceptor) {
            if (src != GSS_C_NO_NAME) gss_release_name(&min, &src);
            maj = amaj = gss_accept_sec_context(&min, &ac, GSS_C_NO_CREDENTIAL, &in, GSS_C_NO_CHANNEL_BINDINGS, &src,
                                                NULL, &out, NULL, NULL, NULL);
        } else {
            maj = imaj = gss_init_sec_context(&min, GSS_C_NO_CREDENTIAL, &ic, target_name, &spnego_oid,
                                              GSS_C_INTEG_FLAG | GSS_C_CONF_FLAG | GSS_C_MUTUAL_FLAG, 0,
                                              GSS_C_NO_CHANNEL_BINDINGS, &in, NULL, &out, NULL, NULL);
        }
        snprintf(label, sizeof label, "%s leg %d %s (step %d, %s)", what, leg, mut ? "" : "genuine", step,
                 acceptor ? "accept" : "init");
        if (GSS_CALLING_ERROR(maj)) {
            calling_errors++;
            if (strict) FAIL("%s: calling error 0x%x", label, maj);
        }
        if (GSS_ERROR(maj)) {
            err = 1;
            if (mut == NULL) FAIL("%s: the genuine handshake fails: major 0x%x minor %u", label, maj, min);
            /* a rejected token, then more: the failed side again with the live token and with an empty one */
            gss_ctx_id_t *ctx = acceptor ? &ac : &ic;
            if (*ctx != GSS_C_NO_CONTEXT && mut && leg >= 0 && leg < MAXLEGS) {
                for (int again = 0; again < 2; again++) {
                    gss_buffer_desc in2 = {again ? 0 : genuine_n[leg], again ? NULL : genuine[leg]};
                    gss_buffer_desc out2 = GSS_C_EMPTY_BUFFER;
                    OM_uint32 m2, r2;
                    if (acceptor)
                        r2 = gss_accept_sec_context(&m2, &ac, GSS_C_NO_CREDENTIAL, &in2, GSS_C_NO_CHANNEL_BINDINGS,
                                                    NULL, NULL, &out2, NULL, NULL, NULL);
                    else
                        r2 = gss_init_sec_context(&m2, GSS_C_NO_CREDENTIAL, &ic, target_name, &spnego_oid,
                                                  GSS_C_INTEG_FLAG | GSS_C_CONF_FLAG | GSS_C_MUTUAL_FLAG, 0,
                                                  GSS_C_NO_CHANNEL_BINDINGS, &in2, NULL, &out2, NULL, NULL);
                    if (GSS_CALLING_ERROR(r2) && *ctx != GSS_C_NO_CONTEXT) {
                        calling_errors++;
                        if (strict) FAIL("%s: calling error 0x%x on the call after the error", label, r2);
                    }
                    gss_release_buffer(&m2, &out2);
                    counts[leg].retries++;
                }
            }
            gss_release_buffer(&min, &out);
            break;
        }
        if (acceptor) a_done = maj == GSS_S_COMPLETE;
        else i_done = maj == GSS_S_COMPLETE;
        if (maj == GSS_S_CONTINUE_NEEDED && out.length == 0) {
            FAIL("%s: CONTINUE_NEEDED with no output token (the application would stall)", label);
            err = 1;
            break;
        }
        free(cur.p);
        cur.p = NULL, cur.n = cur.cap = 0;
        put(&cur, out.value, out.length);
        gss_release_buffer(&min, &out);
        if (cur.n == 0) break; /* complete, nothing to send */
        if (step == 11) FAIL("%s: the negotiation does not end in 12 calls", label);
    }
    if (!applied) goto out;
    if (i_done && a_done && !err) {
        gss_buffer_desc name = GSS_C_EMPTY_BUFFER;
        if (src == GSS_C_NO_NAME || GSS_ERROR(gss_display_name(&min, src, &name, NULL)))
            FAIL("%s leg %d: complete without a source name", what, leg);
        else if (name.length != strlen("TESTDOM\\testuser") || memcmp(name.value, "TESTDOM\\testuser", name.length))
            FAIL("%s leg %d: the acceptor names \"%.*s\"", what, leg, (int)name.length, (char *)name.value);
        gss_release_buffer(&min, &name);
        wrap_check(ic, ac, what);
        wrap_check(ac, ic, what);
    }
    if (a_done && proof_changed) FAIL("%s leg %d: the acceptor completed with a changed NTProofStr", what, leg);
    if (mut && leg < MAXLEGS) {
        counts[leg].cases++;
        if (err) counts[leg].errors++;
        if (i_done && a_done && !err) counts[leg].completes++;
    }
out:
    (void)imaj;
    (void)amaj;
    if (src != GSS_C_NO_NAME) gss_release_name(&min, &src);
    if (ic != GSS_C_NO_CONTEXT) gss_delete_sec_context(&min, &ic, GSS_C_NO_BUFFER);
    if (ac != GSS_C_NO_CONTEXT) gss_delete_sec_context(&min, &ac, GSS_C_NO_BUFFER);
    free(cur.p);
    return applied;
}

/* ---- byte-level mutations ---- */
static int m_trunc(int leg, const uint8_t *in, size_t n, long arg, struct buf *o)
{
    (void)leg;
    if ((size_t)arg >= n) return 0;
    put(o, in, (size_t)arg);
    return 1;
}
static int m_flip(int leg, const uint8_t *in, size_t n, long arg, struct buf *o)
{
    (void)leg;
    if ((size_t)arg >= n) return 0;
    put(o, in, n);
    o->p[arg] ^= (uint8_t)(1u << (arg % 8));
    return 1;
}
static int m_ff(int leg, const uint8_t *in, size_t n, long arg, struct buf *o)
{
    (void)leg;
    if ((size_t)arg >= n || in[arg] == 0xff) return 0;
    put(o, in, n);
    o->p[arg] = 0xff;
    return 1;
}
static int m_append(int leg, const uint8_t *in, size_t n, long arg, struct buf *o)
{
    (void)leg;
    put(o, in, n);
    for (long i = 0; i < arg; i++) {
        uint8_t g = (uint8_t)(i * 37 + 11);
        put(o, &g, 1);
    }
    return 1;
}
static int m_tag(int leg, const uint8_t *in, size_t n, long arg, struct buf *o)
{
    (void)leg;
    if (n == 0 || in[0] == (uint8_t)arg) return 0;
    put(o, in, n);
    o->p[0] = (uint8_t)arg;
    return 1;
}
/* The outer length rewritten: 0 huge (0x84 ffffffff), 1 eight length bytes, 2 indefinite, 3 one more, 4 one less,
 * 5 non-minimal (0x82 00 nn). */
static int m_outer_len(int leg, const uint8_t *in, size_t n, long arg, struct buf *o)
{
    (void)leg;
    struct tlv t;
    if (!read_tlv(in, n, &t)) return 0;
    size_t hl = t.total - t.n;
    uint8_t h[12];
    size_t k = 0;
    h[k++] = in[0];
    switch (arg) {
    case 0: memcpy(h + k, "\x84\xff\xff\xff\xff", 5), k += 5; break;
    case 1: memcpy(h + k, "\x88\0\0\0\0\0\0\0", 8), k += 8, h[k - 1] = (uint8_t)t.n, h[k - 2] = (uint8_t)(t.n >> 8); break;
    case 2: h[k++] = 0x80; break;
    case 3: case 4: {
        struct buf tmp = {0};
        put_len(&tmp, arg == 3 ? t.n + 1 : t.n - 1);
        memcpy(h + k, tmp.p, tmp.n), k += tmp.n;
        free(tmp.p);
        break;
    }
    default: h[k++] = 0x82, h[k++] = (uint8_t)(t.n >> 8), h[k++] = (uint8_t)t.n; break;
    }
    put(o, h, k);
    put(o, in + hl, t.n);
    if (arg == 2) put(o, "\0\0", 2);
    return 1;
}

/* ---- structural mutations on the parsed NegotiationToken ---- */
static uint8_t *big_garbage(size_t n)
{
    uint8_t *g = malloc(n);
    if (!g) abort();
    for (size_t i = 0; i < n; i++) g[i] = (uint8_t)(i * 131 + 7);
    return g;
}

enum {
    S_DROP0, S_DROP1, S_DROP2, S_DROP3, S_DUP0, S_DUP2, S_REORDER, S_REVERSE,
    S_STATE0, S_STATE1, S_STATE2, S_STATE3, S_STATE7, S_STATE255, S_STATE_INT, S_STATE_LONG,
    S_MECH_KRB5, S_MECH_SPNEGO, S_MECH_GARBAGE, S_MECH_NOTOID,
    S_TYPES_EMPTY, S_TYPES_UNKNOWN, S_TYPES_HUGE, S_TYPES_NOTSEQ,
    S_TOK_GARBAGE, S_TOK_BIG, S_TOK_NOTOCTET, S_TOK_EMPTY,
    S_MIC_GARBAGE, S_MIC_EMPTY, S_MIC_BIG, S_MIC_NOTOCTET, S_MIC_ECHO, S_FIELD4,
    S_REJECT, S_SWAP_TYPE, S_COUNT
};
static const char *s_names[S_COUNT] = {
    "drop [0]", "drop [1]", "drop [2]", "drop [3]", "duplicate [0]", "duplicate [2]", "reorder", "reverse",
    "negState 0", "negState 1", "negState 2", "negState 3", "negState 7", "negState 255", "negState INTEGER",
    "negState long", "supportedMech krb5", "supportedMech SPNEGO", "supportedMech garbage", "supportedMech not OID",
    "mechTypes empty", "mechTypes unknown only", "mechTypes 5000", "mechTypes not SEQUENCE",
    "token garbage", "token 1 MiB", "token not OCTET STRING", "token empty",
    "MIC garbage", "MIC empty", "MIC 1 MiB", "MIC not OCTET STRING", "MIC = response token", "field [4]",
    "reject", "NegTokenInit/Resp swapped"};

static int m_struct(int leg, const uint8_t *in, size_t n, long arg, struct buf *o)
{
    struct neg g;
    if (!parse_neg(in, n, &g)) return 0;
    int order[8];
    memcpy(order, order_std, sizeof order_std);
    struct buf tmp = {0}, tmp2 = {0};
    uint8_t *big = NULL;
    static const uint8_t krb5_oid[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02};
    static const uint8_t spnego[] = {0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02};
    static const uint8_t garbage_oid[] = {0x06, 0x03, 0xff, 0xff, 0xff};
    static const uint8_t unknown_types[] = {0x30, 0x0b, 0x06, 0x09, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x81, 0x01, 0x02, 0x03};
    static const uint8_t garbage16[] = {0x04, 0x10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    static const uint8_t empty_octets[] = {0x04, 0x00};
    static const uint8_t integer[] = {0x02, 0x01, 0x05};
    int tokf = g.init ? 2 : 2, statef = 0;
    int r = 1;
    switch (arg) {
    case S_DROP0: case S_DROP1: case S_DROP2: case S_DROP3:
        if (!g.present[arg - S_DROP0]) { r = 0; break; }
        g.present[arg - S_DROP0] = 0;
        break;
    case S_DUP0: case S_DUP2: {
        int f = arg == S_DUP0 ? 0 : 2, k = 0;
        if (!g.present[f]) { r = 0; break; }
        for (int i = 0; i < 5; i++) { order[k++] = i; if (i == f) order[k++] = i; }
        order[k] = -1;
        break;
    }
    case S_REORDER: order[0] = 2, order[1] = 0, order[2] = 1, order[3] = 3, order[4] = 4, order[5] = -1; break;
    case S_REVERSE: order[0] = 4, order[1] = 3, order[2] = 2, order[3] = 1, order[4] = 0, order[5] = -1; break;
    case S_STATE0: case S_STATE1: case S_STATE2: case S_STATE3: case S_STATE7: case S_STATE255: case S_STATE_INT:
    case S_STATE_LONG: {
        static const uint8_t vals[] = {0, 1, 2, 3, 7, 255};
        if (g.init) { r = 0; break; }
        uint8_t e[4] = {0x0a, 0x01, 0, 0};
        size_t en = 3;
        if (arg == S_STATE_INT) e[0] = 0x02, e[2] = 1;
        else if (arg == S_STATE_LONG) e[1] = 2, e[2] = 0, e[3] = 1, en = 4;
        else e[2] = vals[arg - S_STATE0];
        put(&tmp, e, en);
        g.present[statef] = 1, g.f[statef] = tmp.p, g.fn[statef] = tmp.n;
        break;
    }
    case S_MECH_KRB5: case S_MECH_SPNEGO: case S_MECH_GARBAGE: case S_MECH_NOTOID:
        if (g.init) { r = 0; break; }
        g.present[1] = 1;
        if (arg == S_MECH_KRB5) g.f[1] = krb5_oid, g.fn[1] = sizeof krb5_oid;
        else if (arg == S_MECH_SPNEGO) g.f[1] = spnego, g.fn[1] = sizeof spnego;
        else if (arg == S_MECH_GARBAGE) g.f[1] = garbage_oid, g.fn[1] = sizeof garbage_oid;
        else g.f[1] = integer, g.fn[1] = sizeof integer;
        break;
    case S_TYPES_EMPTY: case S_TYPES_UNKNOWN: case S_TYPES_HUGE: case S_TYPES_NOTSEQ:
        if (!g.init) { r = 0; break; }
        if (arg == S_TYPES_EMPTY) put(&tmp, "\x30\x00", 2);
        else if (arg == S_TYPES_UNKNOWN) put(&tmp, unknown_types, sizeof unknown_types);
        else if (arg == S_TYPES_NOTSEQ) put(&tmp, integer, sizeof integer);
        else {
            static const uint8_t ntlm[] = {0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a};
            for (int i = 0; i < 5000; i++) put(&tmp2, ntlm, sizeof ntlm);
            put_tlv(&tmp, 0x30, tmp2.p, tmp2.n);
        }
        g.present[0] = 1, g.f[0] = tmp.p, g.fn[0] = tmp.n;
        break;
    case S_TOK_GARBAGE: case S_TOK_BIG: case S_TOK_NOTOCTET: case S_TOK_EMPTY:
        g.present[tokf] = 1;
        if (arg == S_TOK_GARBAGE) g.f[tokf] = garbage16, g.fn[tokf] = sizeof garbage16;
        else if (arg == S_TOK_EMPTY) g.f[tokf] = empty_octets, g.fn[tokf] = sizeof empty_octets;
        else if (arg == S_TOK_NOTOCTET) g.f[tokf] = integer, g.fn[tokf] = sizeof integer;
        else {
            big = big_garbage(1u << 20);
            put_tlv(&tmp, 0x04, big, 1u << 20);
            g.f[tokf] = tmp.p, g.fn[tokf] = tmp.n;
        }
        break;
    case S_MIC_GARBAGE: case S_MIC_EMPTY: case S_MIC_BIG: case S_MIC_NOTOCTET: case S_MIC_ECHO:
        g.present[3] = 1;
        if (arg == S_MIC_GARBAGE) g.f[3] = garbage16, g.fn[3] = sizeof garbage16;
        else if (arg == S_MIC_EMPTY) g.f[3] = empty_octets, g.fn[3] = sizeof empty_octets;
        else if (arg == S_MIC_NOTOCTET) g.f[3] = integer, g.fn[3] = sizeof integer;
        else if (arg == S_MIC_ECHO) {
            if (!g.present[2]) { r = 0; break; }
            g.f[3] = g.f[2], g.fn[3] = g.fn[2];
        } else {
            big = big_garbage(1u << 20);
            put_tlv(&tmp, 0x04, big, 1u << 20);
            g.f[3] = tmp.p, g.fn[3] = tmp.n;
        }
        break;
    case S_FIELD4:
        g.present[4] = 1, g.f[4] = garbage16, g.fn[4] = sizeof garbage16;
        break;
    case S_REJECT:
        memset(g.present, 0, sizeof g.present);
        g.init = 0;
        g.present[0] = 1, g.f[0] = (const uint8_t *)"\x0a\x01\x02", g.fn[0] = 3;
        break;
    case S_SWAP_TYPE: {
        /* a NegTokenInit where a NegTokenResp belongs (the live leg-0 token), or the reverse (leg 1's) */
        int from = g.init ? 1 : 0;
        (void)leg;
        if (genuine_n[from] == 0) { r = 0; break; }
        put(o, genuine[from], genuine_n[from]);
        free(tmp.p), free(tmp2.p), free(big);
        return 1;
    }
    default: r = 0;
    }
    if (r) encode_neg(&g, order, o);
    free(tmp.p), free(tmp2.p), free(big);
    return r;
}

/* Handcrafted first tokens for the acceptor (leg 0), whatever the initiator sent. */
static int m_crafted(int leg, const uint8_t *in, size_t n, long arg, struct buf *o)
{
    (void)in, (void)n;
    if (leg != 0) return 0;
    switch (arg) {
    case 0: put(o, "\x60\x84\xff\xff\xff\xff\x06\x06\x2b\x06\x01\x05\x05\x02", 14); return 1; /* huge */
    case 1: { /* 200 nested [0] constructed levels */
        struct buf a = {0}, b = {0};
        put(&a, "\x30\x00", 2);
        for (int i = 0; i < 200; i++) {
            b.n = 0;
            put_tlv(&b, 0xa0, a.p, a.n);
            struct buf t = a; a = b; b = t;
        }
        struct buf inner = {0};
        put_tlv(&inner, 0x06, spnego_oid.elements, spnego_oid.length);
        put(&inner, a.p, a.n);
        put_tlv(o, 0x60, inner.p, inner.n);
        free(a.p), free(b.p), free(inner.p);
        return 1;
    }
    case 2: put(o, "\x60\x08\x06\x06\x2b\x06\x01\x05\x05\x02", 10); return 1; /* OID, no NegotiationToken */
    case 3: put(o, "\x60\x0d\x06\x09\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x01\x00", 15); return 1; /* krb5 framing */
    case 4: put(o, "NTLMSSP\0\x01\0\0\0\0\0\0\0", 16); return 1; /* a raw NTLM NEGOTIATE stub */
    case 5: put(o, "\xa1\x07\x30\x05\xa0\x03\x0a\x01\x01", 9); return 1; /* a NegTokenResp first */
    case 6: put(o, "\x60\x80\x06\x06\x2b\x06\x01\x05\x05\x02\xa0\x80\x30\x80\0\0\0\0\0\0", 20); return 1; /* BER */
    }
    return 0;
}

static void run_all(int leg, mutator m, long from, long to, long step, const char *what)
{
    for (long a = from; a < to; a += step) run_case(leg, m, a, what);
}

int main(int argc, char **argv)
{
    OM_uint32 min;
    if (argc < 2) {
        fprintf(stderr, "usage: %s <target service> [quick]\n", argv[0]);
        return 2;
    }
    target = argv[1];
    quick = argc > 2 && strcmp(argv[2], "quick") == 0;
    strict = getenv("HOSTILE_STRICT") && strcmp(getenv("HOSTILE_STRICT"), "1") == 0;
    gss_buffer_desc tb = {strlen(target), (void *)target};
    if (GSS_ERROR(gss_import_name(&min, &tb, GSS_C_NT_HOSTBASED_SERVICE, &target_name))) {
        fprintf(stderr, "cannot import %s\n", target);
        return 2;
    }
    run_case(-1, NULL, 0, "genuine");
    if (failures) return 1;
    printf("genuine handshake: %d legs (sizes", legs_seen);
    for (int l = 0; l < legs_seen; l++) printf(" %zu", genuine_n[l]);
    printf(")\n");
    long stride = quick ? 7 : 1;
    for (int leg = 0; leg < legs_seen && leg < MAXLEGS; leg++) {
        long n = (long)genuine_n[leg];
        if (n == 0) continue;
        run_all(leg, m_trunc, 0, n, stride, "truncate");
        run_all(leg, m_flip, quick ? leg % 7 : 0, n, stride, "bit flip");
        run_all(leg, m_ff, quick ? (leg + 3) % 7 : 0, n, stride * (quick ? 2 : 1), "byte 0xff");
        run_case(leg, m_append, 1, "append 1");
        run_case(leg, m_append, 16, "append 16");
        run_case(leg, m_append, 4096, "append 4096");
        static const long tags[] = {0x00, 0x04, 0x30, 0x60, 0xa0, 0xa1, 0xa2, 0xff};
        for (size_t t = 0; t < sizeof tags / sizeof tags[0]; t++) run_case(leg, m_tag, tags[t], "outer tag");
        run_all(leg, m_outer_len, 0, 6, 1, "outer length");
        for (long s = 0; s < S_COUNT; s++) run_case(leg, m_struct, s, s_names[s]);
        run_all(leg, m_crafted, 0, 7, 1, "crafted");
    }
    long total = 0;
    for (int l = 0; l < MAXLEGS; l++) {
        if (counts[l].cases == 0) continue;
        printf("%-28s cases %5ld  errors %5ld  completes %5ld  calls-after-error %5ld\n", leg_names[l],
               counts[l].cases, counts[l].errors, counts[l].completes, counts[l].retries);
        total += counts[l].cases;
    }
    printf("calling errors: %ld%s\n", calling_errors, strict ? " (strict: each one is a failure)" : "");
    printf("total hostile cases: %ld, failures: %d\n", total, failures);
    gss_release_name(&min, &target_name);
    return failures ? 1 : 0;
}
