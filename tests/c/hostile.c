/* Hostile tokens through the C ABI (issue 6 §2). Links MIT's mechglue (-lgssapi_krb5), never the plugin:
 * the plugin is reached through GSS_MECH_CONFIG like any application reaches it.
 *
 * Real NTLMSSP handshakes are run; at every leg (NEGOTIATE → gss_accept_sec_context, CHALLENGE →
 * gss_init_sec_context, AUTHENTICATE → gss_accept_sec_context), for wrap and MIC tokens (gss_unwrap,
 * gss_verify_mic) and for exported contexts (gss_import_sec_context), the genuine token is replaced by:
 * every truncation, one bit flipped in every byte, every 16-bit field set to 0xFFFF, every 32-bit field of
 * the header set to 0xFFFFFFFF, appended garbage, and the empty token.
 *
 * Every case must end in a GSS error or a consistent result:
 * - a handshake leg may complete only if the peer then completes too or fails cleanly;
 * - an established acceptor context never comes from an AUTHENTICATE whose NTProofStr was changed;
 * - a wrap or MIC token is never accepted once altered (their integrity is the point), and after every
 *   rejected case the genuine token is still accepted (a rejection does not disturb the stream);
 * - an altered exported context either fails to import or imports into a context that can be deleted.
 * The program exits 0 and prints per-category counts, or prints FAIL lines and exits 1.
 *
 * Usage: hostile <target service, e.g. host@myhost> [quick]   ("quick" samples positions, for valgrind). */
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static gss_OID_desc ntlm_oid = {10, (void *)"\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a"};
static const char *target;
static int quick;
static int failures;
static gss_name_t target_name = GSS_C_NO_NAME;

struct counts {
    const char *what;
    long cases, errors, completes, continues;
};

#define FAIL(...)                                                                                       \
    do {                                                                                                \
        failures++;                                                                                     \
        fprintf(stderr, "FAIL: " __VA_ARGS__);                                                          \
        fputc('\n', stderr);                                                                            \
    } while (0)

static void release(gss_buffer_desc *b)
{
    OM_uint32 min;
    gss_release_buffer(&min, b);
}

static void del(gss_ctx_id_t *c)
{
    OM_uint32 min;
    if (*c != GSS_C_NO_CONTEXT)
        gss_delete_sec_context(&min, c, GSS_C_NO_BUFFER);
    *c = GSS_C_NO_CONTEXT;
}

/* One initiator step. */
static OM_uint32 init_step(gss_ctx_id_t *ctx, const void *in, size_t in_len, gss_buffer_desc *out)
{
    OM_uint32 min;
    gss_buffer_desc input = {in_len, (void *)in};
    out->length = 0;
    out->value = NULL;
    return gss_init_sec_context(&min, GSS_C_NO_CREDENTIAL, ctx, target_name, &ntlm_oid,
                                GSS_C_MUTUAL_FLAG | GSS_C_REPLAY_FLAG | GSS_C_SEQUENCE_FLAG |
                                    GSS_C_CONF_FLAG | GSS_C_INTEG_FLAG,
                                0, GSS_C_NO_CHANNEL_BINDINGS, in ? &input : GSS_C_NO_BUFFER, NULL, out,
                                NULL, NULL);
}

/* One acceptor step. */
static OM_uint32 accept_step(gss_ctx_id_t *ctx, const void *in, size_t in_len, gss_buffer_desc *out)
{
    OM_uint32 min;
    gss_buffer_desc input = {in_len, (void *)in};
    out->length = 0;
    out->value = NULL;
    return gss_accept_sec_context(&min, ctx, GSS_C_NO_CREDENTIAL, &input, GSS_C_NO_CHANNEL_BINDINGS, NULL,
                                  NULL, out, NULL, NULL, NULL);
}

/* The three genuine legs of one handshake, and the resulting contexts. */
struct legs {
    unsigned char *tok[3];
    size_t len[3];
};

static void free_legs(struct legs *l)
{
    for (int i = 0; i < 3; i++)
        free(l->tok[i]);
}

static unsigned char *dup_buf(const gss_buffer_desc *b)
{
    unsigned char *p = malloc(b->length ? b->length : 1);
    if (!p)
        abort();
    memcpy(p, b->value, b->length);
    return p;
}

/* Runs a genuine handshake; fills legs, returns both contexts established. */
static int genuine(struct legs *l, gss_ctx_id_t *ic, gss_ctx_id_t *ac)
{
    gss_buffer_desc out;
    OM_uint32 maj;
    *ic = *ac = GSS_C_NO_CONTEXT;
    maj = init_step(ic, NULL, 0, &out);
    if (maj != GSS_S_CONTINUE_NEEDED) {
        FAIL("genuine init leg 1: major %#x", maj);
        return 0;
    }
    l->tok[0] = dup_buf(&out);
    l->len[0] = out.length;
    release(&out);
    maj = accept_step(ac, l->tok[0], l->len[0], &out);
    if (maj != GSS_S_CONTINUE_NEEDED) {
        FAIL("genuine accept leg 1: major %#x", maj);
        return 0;
    }
    l->tok[1] = dup_buf(&out);
    l->len[1] = out.length;
    release(&out);
    maj = init_step(ic, l->tok[1], l->len[1], &out);
    if (maj != GSS_S_COMPLETE) {
        FAIL("genuine init leg 2: major %#x", maj);
        return 0;
    }
    l->tok[2] = dup_buf(&out);
    l->len[2] = out.length;
    release(&out);
    maj = accept_step(ac, l->tok[2], l->len[2], &out);
    release(&out);
    if (maj != GSS_S_COMPLETE) {
        FAIL("genuine accept leg 2: major %#x", maj);
        return 0;
    }
    return 1;
}

/* Mutations: calls fn(ctx, bytes, len, label) for each altered copy of tok. */
typedef void (*case_fn)(void *arg, const unsigned char *t, size_t n, const char *label, size_t pos);

static void mutations(const unsigned char *tok, size_t len, case_fn fn, void *arg)
{
    size_t step = quick ? (len / 24 + 1) : 1;
    unsigned char *t = malloc(len + 1024);
    if (!t)
        abort();
    for (size_t n = 0; n < len; n += step)
        fn(arg, tok, n, "truncate", n);
    for (size_t i = 0; i < len; i += step) {
        memcpy(t, tok, len);
        t[i] ^= (unsigned char)(1u << (i % 8));
        fn(arg, t, len, "bitflip", i);
    }
    /* Overwrites that leave the token as it was (the bytes were 0xFF already: random keys make that happen about
     * once in 65,536 for a pair) are not alterations and are not cases. */
    for (size_t i = 0; i + 2 <= len; i += (quick ? 2 * step : 2)) {
        memcpy(t, tok, len);
        t[i] = t[i + 1] = 0xFF;
        if (memcmp(t, tok, len) != 0)
            fn(arg, t, len, "u16=ffff", i);
    }
    for (size_t i = 0; i + 4 <= len && i < 96; i += 4) {
        memcpy(t, tok, len);
        memset(t + i, 0xFF, 4);
        if (memcmp(t, tok, len) != 0)
            fn(arg, t, len, "u32=ffffffff", i);
    }
    size_t extra[] = {1, 16, 1000};
    for (size_t k = 0; k < 3; k++) {
        memcpy(t, tok, len);
        for (size_t j = 0; j < extra[k]; j++)
            t[len + j] = (unsigned char)(0xA5 ^ j);
        fn(arg, t, len + extra[k], "append", extra[k]);
    }
    fn(arg, t, 0, "empty", 0);
    free(t);
}

/* ---- handshake legs ---- */

struct leg_arg {
    int leg;
    struct counts *c;
    const struct legs *genuine;
};

/* NTProofStr: the first 16 bytes of the NT response, found through NtChallengeResponseFields (offset 20). */
static int ntproof(const unsigned char *t, size_t n, unsigned char out[16])
{
    if (n < 28)
        return 0;
    size_t len = t[20] | t[21] << 8;
    size_t off = (size_t)t[24] | (size_t)t[25] << 8 | (size_t)t[26] << 16 | (size_t)t[27] << 24;
    if (len < 16 || off > n || n - off < 16)
        return 0;
    memcpy(out, t + off, 16);
    return 1;
}

static void leg_case(void *argp, const unsigned char *t, size_t n, const char *label, size_t pos)
{
    struct leg_arg *a = argp;
    const struct legs *g = a->genuine;
    gss_ctx_id_t ic = GSS_C_NO_CONTEXT, ac = GSS_C_NO_CONTEXT;
    gss_buffer_desc out;
    OM_uint32 maj = 0;
    a->c->cases++;
    if (a->leg == 0) {
        maj = accept_step(&ac, t, n, &out);
        if (maj == GSS_S_CONTINUE_NEEDED) {
            /* A CHALLENGE came back: the genuine initiator must process it or fail cleanly. */
            gss_buffer_desc out2;
            OM_uint32 m2 = init_step(&ic, NULL, 0, &out2);
            release(&out2);
            if (m2 == GSS_S_CONTINUE_NEEDED) {
                m2 = init_step(&ic, out.value, out.length, &out2);
                if (m2 == GSS_S_COMPLETE) {
                    gss_buffer_desc out3;
                    accept_step(&ac, out2.value, out2.length, &out3);
                    release(&out3);
                }
                release(&out2);
            }
        }
        release(&out);
    } else if (a->leg == 1) {
        /* A fresh initiator whose NEGOTIATE is ignored, fed the altered CHALLENGE. */
        maj = init_step(&ic, NULL, 0, &out);
        release(&out);
        maj = init_step(&ic, t, n, &out);
        release(&out);
    } else {
        /* A fresh acceptor that produced a CHALLENGE for the genuine NEGOTIATE, fed an AUTHENTICATE made for
         * another CHALLENGE, altered: must never complete (the proof is bound to the server challenge). The
         * case where the AUTHENTICATE matches its CHALLENGE is run by auth_leg_cases below. */
        maj = accept_step(&ac, g->tok[0], g->len[0], &out);
        release(&out);
        maj = accept_step(&ac, t, n, &out);
        release(&out);
        if (maj == GSS_S_COMPLETE)
            FAIL("AUTHENTICATE for another CHALLENGE accepted (%s at %zu)", label, pos);
    }
    if (GSS_ERROR(maj))
        a->c->errors++;
    else if (maj == GSS_S_COMPLETE)
        a->c->completes++;
    else
        a->c->continues++;
    del(&ic);
    del(&ac);
}

/* AUTHENTICATE mutations against the acceptor that issued its CHALLENGE: a fresh handshake per case. */
struct auth_arg {
    struct counts *c;
    long *fresh;
};

static void auth_case_run(const unsigned char *orig, size_t orig_len, const unsigned char *t, size_t n,
                          gss_ctx_id_t *ac, struct counts *c, const char *label, size_t pos)
{
    gss_buffer_desc out;
    OM_uint32 maj = accept_step(ac, t, n, &out);
    release(&out);
    c->cases++;
    if (GSS_ERROR(maj)) {
        c->errors++;
        return;
    }
    if (maj == GSS_S_COMPLETE) {
        c->completes++;
        unsigned char a[16], b[16];
        int ha = ntproof(orig, orig_len, a), hb = ntproof(t, n, b);
        if (!ha || !hb || memcmp(a, b, 16) != 0)
            FAIL("AUTHENTICATE with a changed NTProofStr accepted (%s at %zu)", label, pos);
        if (n != orig_len || memcmp(orig, t, n) != 0) {
            /* MIT's own NTLM use has no MIC in raw mode; report for the record. */
        }
    } else {
        c->continues++;
        FAIL("acceptor asked for more after an AUTHENTICATE (%s at %zu)", label, pos);
    }
}

/* ---- wrap / MIC ---- */

struct msg_arg {
    gss_ctx_id_t *rx;
    int wrap;
    const gss_buffer_desc *msg;
    struct counts *c;
};

static void msg_case(void *argp, const unsigned char *t, size_t n, const char *label, size_t pos)
{
    struct msg_arg *a = argp;
    OM_uint32 maj, min;
    gss_buffer_desc in = {n, (void *)t}, out = {0, NULL}, saved = {0, NULL};
    a->c->cases++;
    /* Each case starts from the same receiver state: a rejected token that claims the current slot spends it
     * (as at every peer, SECURITY.md), so the receiver is saved here and restored after the case. */
    maj = gss_export_sec_context(&min, a->rx, &saved);
    if (GSS_ERROR(maj) || gss_import_sec_context(&min, &saved, a->rx) != GSS_S_COMPLETE) {
        FAIL("saving the receiver (export/import): major %#x", maj);
        release(&saved);
        return;
    }
    if (a->wrap) {
        int conf = 0;
        maj = gss_unwrap(&min, *a->rx, &in, &out, &conf, NULL);
        release(&out);
    } else {
        maj = gss_verify_mic(&min, *a->rx, a->msg, &in, NULL);
    }
    if (GSS_ERROR(maj)) {
        a->c->errors++;
    } else {
        a->c->completes++;
        FAIL("%s token altered (%s at %zu) accepted: major %#x", a->wrap ? "wrap" : "MIC", label, pos, maj);
    }
    gss_delete_sec_context(&min, a->rx, GSS_C_NO_BUFFER);
    if (gss_import_sec_context(&min, &saved, a->rx) != GSS_S_COMPLETE)
        FAIL("restoring the receiver");
    release(&saved);
}

/* ---- exported contexts ---- */

struct imp_arg {
    struct counts *c;
};

static void import_case(void *argp, const unsigned char *t, size_t n, const char *label, size_t pos)
{
    struct imp_arg *a = argp;
    OM_uint32 maj, min;
    gss_buffer_desc in = {n, (void *)t};
    gss_ctx_id_t c = GSS_C_NO_CONTEXT;
    (void)label;
    (void)pos;
    a->c->cases++;
    maj = gss_import_sec_context(&min, &in, &c);
    if (GSS_ERROR(maj)) {
        a->c->errors++;
    } else {
        a->c->completes++;
        /* Consistent: the imported context answers inquiries and wraps. */
        gss_buffer_desc msg = {5, (void *)"hello"}, tok = {0, NULL};
        OM_uint32 lifetime;
        gss_context_time(&min, c, &lifetime);
        gss_wrap(&min, c, 1, GSS_C_QOP_DEFAULT, &msg, NULL, &tok);
        release(&tok);
    }
    del(&c);
}

static void print(const struct counts *c)
{
    printf("%-22s cases %6ld  errors %6ld  completes %5ld  continues %5ld\n", c->what, c->cases, c->errors,
           c->completes, c->continues);
}

int main(int argc, char **argv)
{
    OM_uint32 maj, min;
    if (argc < 2) {
        fprintf(stderr, "usage: %s <service@host> [quick]\n", argv[0]);
        return 2;
    }
    target = argv[1];
    quick = argc > 2 && strcmp(argv[2], "quick") == 0;
    gss_buffer_desc tn = {strlen(target), (void *)target};
    maj = gss_import_name(&min, &tn, GSS_C_NT_HOSTBASED_SERVICE, &target_name);
    if (GSS_ERROR(maj)) {
        fprintf(stderr, "FAIL: gss_import_name: %#x\n", maj);
        return 1;
    }

    struct legs g = {{0}};
    gss_ctx_id_t ic, ac;
    if (!genuine(&g, &ic, &ac))
        return 1;

    struct counts legc[3] = {{"NEGOTIATE->accept"}, {"CHALLENGE->init"}, {"AUTH(other)->accept"}};
    for (int leg = 0; leg < 3; leg++) {
        struct leg_arg a = {leg, &legc[leg], &g};
        mutations(g.tok[leg], g.len[leg], leg_case, &a);
        print(&legc[leg]);
    }

    /* AUTHENTICATE against its own acceptor: a fresh handshake per case (the acceptor state is spent by
     * each attempt). */
    struct counts authc = {"AUTHENTICATE->accept"};
    {
        /* Collect the cases first from one handshake's token, then run each on a fresh handshake whose
         * AUTHENTICATE gets the same alteration at the same place. */
        size_t len = g.len[2];
        size_t step = quick ? (len / 24 + 1) : 1;
        for (int kind = 0; kind < 6; kind++) {
            size_t limit = kind == 0 || kind == 1 ? len : kind == 2 ? (len >= 2 ? len - 1 : 0)
                         : kind == 3 ? (len >= 4 && len - 3 < 96 ? len - 3 : 96)
                                     : 1;
            size_t inc = kind == 2 ? 2 : kind == 3 ? 4 : 1;
            if (kind < 2)
                inc = step;
            for (size_t pos = 0; pos < limit; pos += inc) {
                gss_ctx_id_t i2 = GSS_C_NO_CONTEXT, a2 = GSS_C_NO_CONTEXT;
                gss_buffer_desc o1, o2, o3;
                if (init_step(&i2, NULL, 0, &o1) != GSS_S_CONTINUE_NEEDED ||
                    accept_step(&a2, o1.value, o1.length, &o2) != GSS_S_CONTINUE_NEEDED ||
                    init_step(&i2, o2.value, o2.length, &o3) != GSS_S_COMPLETE) {
                    FAIL("fresh handshake failed");
                    release(&o1);
                    release(&o2);
                    del(&i2);
                    del(&a2);
                    break;
                }
                release(&o1);
                release(&o2);
                size_t n = o3.length;
                unsigned char *t = malloc(n + 1024);
                if (!t)
                    abort();
                memcpy(t, o3.value, n);
                const char *label = "";
                size_t tn2 = n;
                switch (kind) {
                case 0: tn2 = pos; label = "truncate"; break;
                case 1: t[pos] ^= (unsigned char)(1u << (pos % 8)); label = "bitflip"; break;
                case 2: t[pos] = t[pos + 1] = 0xFF; label = "u16=ffff"; break;
                case 3: memset(t + pos, 0xFF, 4); label = "u32=ffffffff"; break;
                case 4: memset(t + n, 0x5A, 64); tn2 = n + 64; label = "append"; break;
                case 5: tn2 = 0; label = "empty"; break;
                }
                auth_case_run(o3.value, n, t, tn2, &a2, &authc, label, pos);
                free(t);
                release(&o3);
                del(&i2);
                del(&a2);
            }
        }
        print(&authc);
    }

    /* Wrap and MIC tokens, both directions. */
    struct counts wrapc = {"wrap->unwrap"}, micc = {"MIC->verify_mic"};
    for (int dir = 0; dir < 2; dir++) {
        gss_ctx_id_t *tx = dir ? &ac : &ic, *rx = dir ? &ic : &ac;
        for (int wrap = 0; wrap < 2; wrap++) {
            gss_buffer_desc msg = {41, (void *)"a message of forty-one bytes, to protect."}, tok = {0, NULL};
            if (wrap)
                maj = gss_wrap(&min, *tx, 1, GSS_C_QOP_DEFAULT, &msg, NULL, &tok);
            else
                maj = gss_get_mic(&min, *tx, GSS_C_QOP_DEFAULT, &msg, &tok);
            if (GSS_ERROR(maj)) {
                FAIL("%s: major %#x", wrap ? "gss_wrap" : "gss_get_mic", maj);
                continue;
            }
            struct msg_arg a = {rx, wrap, &msg, wrap ? &wrapc : &micc};
            mutations(tok.value, tok.length, msg_case, &a);
            /* The stream is intact: the genuine token is still accepted. */
            gss_buffer_desc out = {0, NULL};
            if (wrap) {
                maj = gss_unwrap(&min, *rx, &tok, &out, NULL, NULL);
                if (!GSS_ERROR(maj) && (out.length != msg.length || memcmp(out.value, msg.value, msg.length)))
                    FAIL("unwrap returned other bytes");
                release(&out);
            } else {
                maj = gss_verify_mic(&min, *rx, &msg, &tok, NULL);
            }
            if (GSS_ERROR(maj))
                FAIL("genuine %s token rejected after the hostile ones: major %#x", wrap ? "wrap" : "MIC", maj);
            release(&tok);
        }
    }
    print(&wrapc);
    print(&micc);

    /* Exported contexts (both ends). */
    struct counts impc = {"export->import"};
    for (int side = 0; side < 2; side++) {
        gss_ctx_id_t *c = side ? &ac : &ic;
        gss_buffer_desc tok = {0, NULL};
        maj = gss_export_sec_context(&min, c, &tok);
        if (GSS_ERROR(maj)) {
            FAIL("gss_export_sec_context: major %#x", maj);
            continue;
        }
        struct imp_arg a = {&impc};
        mutations(tok.value, tok.length, import_case, &a);
        gss_ctx_id_t back = GSS_C_NO_CONTEXT;
        maj = gss_import_sec_context(&min, &tok, &back);
        if (GSS_ERROR(maj))
            FAIL("genuine exported context does not import: major %#x", maj);
        del(&back);
        release(&tok);
    }
    print(&impc);

    long total = authc.cases + wrapc.cases + micc.cases + impc.cases;
    for (int i = 0; i < 3; i++)
        total += legc[i].cases;
    printf("total hostile cases: %ld, failures: %d\n", total, failures);
    del(&ic);
    del(&ac);
    free_legs(&g);
    gss_release_name(&min, &target_name);
    return failures ? 1 : 0;
}
