/*
 * One-process GSSAPI handshake through MIT's mechglue with the gss-negotiate plugin selected by
 * GSS_MECH_CONFIG (this program links libgssapi_krb5 only, never the plugin).  Driven by
 * tests/c_handshake.rs (and under valgrind by tests/valgrind.rs).
 *
 * Environment (set by the driver): GSS_MECH_CONFIG, NTLM_USER_FILE (TESTDOM:testuser:Passw0rd!),
 * KRB5_CONFIG (no KDC), HANDSHAKE_HOST (the host part of the target host@HOST).
 *
 * For the raw NTLMSSP mech (initiator credential from gss_acquire_cred_with_password) and for SPNEGO
 * (default initiator credential from the user file) it checks: inquire_context flags / open /
 * locally_initiated, display names on both sides, the SSPI session key equal on both sides, export and
 * import of both established contexts in the middle of a message stream, zero-length wrap and MIC,
 * gss_wrap_size_limit against real wrap sizes, wrap/unwrap both ways at 0/1/1024/65536 bytes, tampered
 * wrap and MIC tokens rejected; then a wrong password is refused with a readable gss_display_status text.
 *
 * Prints one "ok <what>" line per check; on failure prints "FAIL <what>: ..." and exits 1.
 */
#define _GNU_SOURCE
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static gss_OID_desc ntlmssp_oid = {10, "\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a"};
static gss_OID_desc spnego_oid = {6, "\x2b\x06\x01\x05\x05\x02"};
static gss_OID_desc sspi_session_key_oid = {11, "\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x05\x05"};

static int checks;
static const char *phase = "";

static void print_status(const char *label, OM_uint32 code, int type, gss_OID mech)
{
    OM_uint32 minor, msg_ctx = 0;
    gss_buffer_desc text;
    do {
        if (gss_display_status(&minor, code, type, mech, &msg_ctx, &text) != GSS_S_COMPLETE)
            break;
        fprintf(stderr, "  %s: %.*s\n", label, (int)text.length, (char *)text.value);
        gss_release_buffer(&minor, &text);
    } while (msg_ctx != 0);
}

static void fail(const char *what, OM_uint32 major, OM_uint32 minor, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "FAIL [%s] %s: major %#x minor %#x ", phase, what, major, minor);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (GSS_ERROR(major)) {
        print_status("major", major, GSS_C_GSS_CODE, GSS_C_NO_OID);
        print_status("minor", minor, GSS_C_MECH_CODE, &ntlmssp_oid);
    }
    exit(1);
}

static void ok(const char *fmt, ...)
{
    va_list ap;
    printf("ok [%s] ", phase);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
    checks++;
}

#define CHECK_GSS(what, call)                                                                      \
    do {                                                                                           \
        OM_uint32 maj_ = (call);                                                                   \
        if (GSS_ERROR(maj_))                                                                       \
            fail(what, maj_, minor, "");                                                           \
    } while (0)

static gss_name_t import_name(const char *text, gss_OID type)
{
    OM_uint32 minor;
    gss_buffer_desc buf = {strlen(text), (void *)text};
    gss_name_t name = GSS_C_NO_NAME;
    CHECK_GSS("gss_import_name", gss_import_name(&minor, &buf, type, &name));
    return name;
}

/* The display form of `name`, as a malloc'd NUL-terminated copy; fails if the GSS buffer itself
 * carries a NUL byte inside its length (gss-ntlmssp's trailing-NUL bug). */
static char *display(gss_name_t name)
{
    OM_uint32 minor;
    gss_buffer_desc buf;
    CHECK_GSS("gss_display_name", gss_display_name(&minor, name, &buf, NULL));
    if (memchr(buf.value, '\0', buf.length) != NULL)
        fail("gss_display_name", 0, 0, "display form contains a NUL byte (length %zu)", buf.length);
    char *s = malloc(buf.length + 1);
    memcpy(s, buf.value, buf.length);
    s[buf.length] = '\0';
    gss_release_buffer(&minor, &buf);
    return s;
}

struct pair {
    gss_ctx_id_t init, acc;
    gss_cred_id_t icred;
    gss_name_t src; /* from accept */
    gss_OID mech;   /* actual mech reported by accept (static storage) */
    OM_uint32 iflags, aflags;
};

/* Runs the token loop. Returns the final major status of the failing side (0 when established). */
static OM_uint32 establish(struct pair *p, gss_OID mech, gss_name_t target, OM_uint32 req,
                           OM_uint32 *minor_out, int *acceptor_failed)
{
    OM_uint32 major = GSS_S_CONTINUE_NEEDED, amajor = GSS_S_CONTINUE_NEEDED, minor = 0;
    gss_buffer_desc in = GSS_C_EMPTY_BUFFER, out = GSS_C_EMPTY_BUFFER;
    int round;
    *acceptor_failed = 0;
    for (round = 0; round < 6; round++) {
        major = gss_init_sec_context(&minor, p->icred, &p->init, target, mech, req, 0,
                                     GSS_C_NO_CHANNEL_BINDINGS, &in, NULL, &out, &p->iflags, NULL);
        gss_release_buffer(&minor_out[1], &in);
        if (GSS_ERROR(major)) {
            *minor_out = minor;
            gss_release_buffer(&minor_out[1], &out);
            return major;
        }
        if (out.length == 0 && major == GSS_S_COMPLETE && amajor == GSS_S_COMPLETE)
            return GSS_S_COMPLETE;
        if (out.length != 0) {
            gss_buffer_desc atok = GSS_C_EMPTY_BUFFER;
            if (p->src != GSS_C_NO_NAME)
                gss_release_name(&minor_out[1], &p->src);
            amajor = gss_accept_sec_context(&minor, &p->acc, GSS_C_NO_CREDENTIAL, &out,
                                            GSS_C_NO_CHANNEL_BINDINGS, &p->src, &p->mech, &atok,
                                            &p->aflags, NULL, NULL);
            gss_release_buffer(&minor_out[1], &out);
            if (GSS_ERROR(amajor)) {
                *minor_out = minor;
                *acceptor_failed = 1;
                gss_release_buffer(&minor_out[1], &atok);
                return amajor;
            }
            in = atok;
        }
        if (major == GSS_S_COMPLETE && amajor == GSS_S_COMPLETE && in.length == 0)
            return GSS_S_COMPLETE;
    }
    *minor_out = minor;
    return GSS_S_FAILURE;
}

static void inquire(gss_ctx_id_t ctx, const char *side, int expect_local, OM_uint32 req,
                    const char *expect_src, const char *expect_targ)
{
    OM_uint32 minor, flags = 0;
    gss_name_t src = GSS_C_NO_NAME, targ = GSS_C_NO_NAME;
    int local = -1, open = -1;
    gss_OID mech = GSS_C_NO_OID;
    CHECK_GSS("gss_inquire_context",
              gss_inquire_context(&minor, ctx, &src, &targ, NULL, &mech, &flags, &local, &open));
    if (!open)
        fail("gss_inquire_context", 0, 0, "%s: context not open", side);
    if (local != expect_local)
        fail("gss_inquire_context", 0, 0, "%s: locally_initiated=%d", side, local);
    OM_uint32 need = GSS_C_INTEG_FLAG | GSS_C_CONF_FLAG | (req & (GSS_C_REPLAY_FLAG | GSS_C_SEQUENCE_FLAG));
    if ((flags & need) != need)
        fail("gss_inquire_context", 0, 0, "%s: flags %#x lack %#x", side, flags, need);
    if (!(flags & GSS_C_TRANS_FLAG))
        fail("gss_inquire_context", 0, 0, "%s: flags %#x lack GSS_C_TRANS_FLAG", side, flags);
    if (mech == GSS_C_NO_OID || mech->length != ntlmssp_oid.length ||
        memcmp(mech->elements, ntlmssp_oid.elements, ntlmssp_oid.length) != 0)
        fail("gss_inquire_context", 0, 0, "%s: mech is not NTLMSSP", side);
    char *s = display(src);
    if (strcmp(s, expect_src) != 0)
        fail("gss_inquire_context", 0, 0, "%s: source name \"%s\", want \"%s\"", side, s, expect_src);
    char *t = display(targ);
    if (strcmp(t, expect_targ) != 0)
        fail("gss_inquire_context", 0, 0, "%s: target name \"%s\", want \"%s\"", side, t, expect_targ);
    ok("%s inquire_context: open, locally_initiated=%d, flags %#x, src \"%s\", targ \"%s\"", side,
       local, flags, s, t);
    free(s);
    free(t);
    gss_release_name(&minor, &src);
    gss_release_name(&minor, &targ);
}

static void session_key(gss_ctx_id_t ctx, gss_buffer_desc *key)
{
    OM_uint32 minor;
    gss_buffer_set_t set = GSS_C_NO_BUFFER_SET;
    CHECK_GSS("inquire GSS_C_INQ_SSPI_SESSION_KEY",
              gss_inquire_sec_context_by_oid(&minor, ctx, &sspi_session_key_oid, &set));
    if (set == GSS_C_NO_BUFFER_SET || set->count < 1 || set->elements[0].length == 0)
        fail("inquire GSS_C_INQ_SSPI_SESSION_KEY", 0, 0, "empty answer");
    key->length = set->elements[0].length;
    key->value = malloc(key->length);
    memcpy(key->value, set->elements[0].value, key->length);
    gss_release_buffer_set(&minor, &set);
}

static unsigned char *pattern(size_t n, unsigned seed)
{
    unsigned char *p = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(i * 31 + seed);
    return p;
}

/* wrap on `from`, unwrap on `to`, compare */
static void roundtrip(gss_ctx_id_t from, gss_ctx_id_t to, size_t n, int conf, const char *dir)
{
    OM_uint32 minor;
    int conf_state = -1, conf_out = -1;
    gss_qop_t qop = 99;
    unsigned char *msg = pattern(n, (unsigned)n + (unsigned)conf);
    gss_buffer_desc in = {n, msg}, tok, out;
    CHECK_GSS("gss_wrap", gss_wrap(&minor, from, conf, GSS_C_QOP_DEFAULT, &in, &conf_state, &tok));
    /* NTLM seals whenever sealing was negotiated (as gss-ntlmssp does); conf_state must say so. */
    if (conf && conf_state != 1)
        fail("gss_wrap", 0, 0, "%s %zu bytes: conf_state %d, asked %d", dir, n, conf_state, conf);
    if (conf && n > 0 && tok.length >= n && memmem(tok.value, tok.length, msg, n) != NULL && n > 8)
        fail("gss_wrap", 0, 0, "%s %zu bytes: sealed token contains the plaintext", dir, n);
    CHECK_GSS("gss_unwrap", gss_unwrap(&minor, to, &tok, &out, &conf_out, &qop));
    if (out.length != n || (n > 0 && memcmp(out.value, msg, n) != 0))
        fail("gss_unwrap", 0, 0, "%s %zu bytes: got %zu different bytes", dir, n, out.length);
    if (conf_out != conf_state || qop != GSS_C_QOP_DEFAULT)
        fail("gss_unwrap", 0, 0, "%s: conf_state %d qop %u", dir, conf_out, qop);
    ok("wrap/unwrap %s %zu bytes conf_req=%d conf_state=%d (token %zu bytes)", dir, n, conf, conf_state,
       tok.length);
    gss_release_buffer(&minor, &tok);
    gss_release_buffer(&minor, &out);
    free(msg);
}

/* The IOV forms: gss_wrap_iov_length / gss_wrap_iov (HEADER allocated by the mech + two DATA buffers) on
 * `from`, gss_unwrap_iov (HEADER + DATA) on `to`; then a plain gss_wrap token unwrapped as one STREAM buffer.
 * Both directions of the IOV and plain formats must agree, since a peer may use either. */
static void iov_roundtrip(gss_ctx_id_t from, gss_ctx_id_t to, size_t n, const char *dir)
{
    OM_uint32 minor;
    int conf_state = -1;
    gss_qop_t qop = 99;
    size_t half = n / 2;
    unsigned char *msg = pattern(n, 11);
    unsigned char *data = malloc(n ? n : 1);
    memcpy(data, msg, n);

    gss_iov_buffer_desc len_iov[2] = {{GSS_IOV_BUFFER_TYPE_HEADER, {0, NULL}},
                                      {GSS_IOV_BUFFER_TYPE_DATA, {n, data}}};
    CHECK_GSS("gss_wrap_iov_length", gss_wrap_iov_length(&minor, from, 1, GSS_C_QOP_DEFAULT, &conf_state,
                                                         len_iov, 2));
    if (len_iov[0].buffer.length != 16)
        fail("gss_wrap_iov_length", 0, 0, "HEADER length %zu, expected 16", len_iov[0].buffer.length);

    gss_iov_buffer_desc iov[3] = {
        {GSS_IOV_BUFFER_TYPE_HEADER | GSS_IOV_BUFFER_FLAG_ALLOCATE, {0, NULL}},
        {GSS_IOV_BUFFER_TYPE_DATA, {half, data}},
        {GSS_IOV_BUFFER_TYPE_DATA, {n - half, data + half}},
    };
    CHECK_GSS("gss_wrap_iov", gss_wrap_iov(&minor, from, 1, GSS_C_QOP_DEFAULT, &conf_state, iov, 3));
    if (conf_state != 1 || iov[0].buffer.length != 16 || !(iov[0].type & GSS_IOV_BUFFER_FLAG_ALLOCATED))
        fail("gss_wrap_iov", 0, 0, "conf_state %d, HEADER %zu bytes, type %#x", conf_state,
             iov[0].buffer.length, iov[0].type);
    if (n > 8 && memcmp(data, msg, n) == 0)
        fail("gss_wrap_iov", 0, 0, "%s %zu bytes: DATA was not sealed", dir, n);

    gss_iov_buffer_desc in[3] = {{GSS_IOV_BUFFER_TYPE_HEADER, iov[0].buffer},
                                 {GSS_IOV_BUFFER_TYPE_DATA, {half, data}},
                                 {GSS_IOV_BUFFER_TYPE_DATA, {n - half, data + half}}};
    CHECK_GSS("gss_unwrap_iov", gss_unwrap_iov(&minor, to, &conf_state, &qop, in, 3));
    if (memcmp(data, msg, n) != 0 || conf_state != 1 || qop != GSS_C_QOP_DEFAULT)
        fail("gss_unwrap_iov", 0, 0, "%s %zu bytes: plaintext differs (conf %d qop %u)", dir, n, conf_state, qop);
    gss_release_iov_buffer(&minor, iov, 3);

    /* A plain wrap token, unwrapped in place as a STREAM. */
    gss_buffer_desc plain = {n, msg}, tok;
    CHECK_GSS("gss_wrap", gss_wrap(&minor, from, 1, GSS_C_QOP_DEFAULT, &plain, &conf_state, &tok));
    gss_iov_buffer_desc stream[2] = {{GSS_IOV_BUFFER_TYPE_STREAM, tok}, {GSS_IOV_BUFFER_TYPE_DATA, {0, NULL}}};
    CHECK_GSS("gss_unwrap_iov (STREAM)", gss_unwrap_iov(&minor, to, &conf_state, &qop, stream, 2));
    if (stream[1].buffer.length != n || (n > 0 && memcmp(stream[1].buffer.value, msg, n) != 0))
        fail("gss_unwrap_iov (STREAM)", 0, 0, "%s %zu bytes: got %zu different bytes", dir, n,
             stream[1].buffer.length);
    ok("wrap_iov/unwrap_iov %s %zu bytes (HEADER 16, two DATA buffers; STREAM of a plain wrap)", dir, n);
    gss_release_buffer(&minor, &tok);
    free(data);
    free(msg);
}

static void mic(gss_ctx_id_t from, gss_ctx_id_t to, size_t n, const char *dir)
{
    OM_uint32 minor;
    unsigned char *msg = pattern(n, 7);
    gss_buffer_desc in = {n, msg}, tok;
    gss_qop_t qop = 99;
    CHECK_GSS("gss_get_mic", gss_get_mic(&minor, from, GSS_C_QOP_DEFAULT, &in, &tok));
    CHECK_GSS("gss_verify_mic", gss_verify_mic(&minor, to, &in, &tok, &qop));
    ok("get_mic/verify_mic %s %zu bytes (MIC %zu bytes)", dir, n, tok.length);
    gss_release_buffer(&minor, &tok);
    free(msg);
}

static void size_limit(gss_ctx_id_t ctx, OM_uint32 req_out)
{
    OM_uint32 minor, max_in = 0;
    CHECK_GSS("gss_wrap_size_limit",
              gss_wrap_size_limit(&minor, ctx, 1, GSS_C_QOP_DEFAULT, req_out, &max_in));
    if (max_in == 0 || max_in > req_out)
        fail("gss_wrap_size_limit", 0, 0, "limit %u for output %u", max_in, req_out);
    for (OM_uint32 n = max_in; n <= max_in + 1; n++) {
        unsigned char *msg = pattern(n, 3);
        gss_buffer_desc in = {n, msg}, tok;
        CHECK_GSS("gss_wrap", gss_wrap(&minor, ctx, 1, GSS_C_QOP_DEFAULT, &in, NULL, &tok));
        if (n == max_in && tok.length > req_out)
            fail("gss_wrap_size_limit", 0, 0, "limit %u but wrap(%u) is %zu > %u", max_in, n,
                 tok.length, req_out);
        if (n == max_in + 1 && tok.length <= req_out)
            fail("gss_wrap_size_limit", 0, 0, "limit %u is not tight: wrap(%u) is %zu <= %u",
                 max_in, n, tok.length, req_out);
        gss_release_buffer(&minor, &tok);
        free(msg);
    }
    ok("wrap_size_limit(%u) = %u, and wrap of that size fits exactly", req_out, max_in);
}

/* Export `*ctx` and import it again; the old handle becomes GSS_C_NO_CONTEXT. */
static void reimport(gss_ctx_id_t *ctx, const char *side)
{
    OM_uint32 minor;
    gss_buffer_desc tok;
    CHECK_GSS("gss_export_sec_context", gss_export_sec_context(&minor, ctx, &tok));
    if (*ctx != GSS_C_NO_CONTEXT)
        fail("gss_export_sec_context", 0, 0, "%s: handle not cleared", side);
    CHECK_GSS("gss_import_sec_context", gss_import_sec_context(&minor, &tok, ctx));
    ok("%s context exported (%zu bytes) and imported", side, tok.length);
    gss_release_buffer(&minor, &tok);
}

static void tampered(gss_ctx_id_t a, gss_ctx_id_t b)
{
    OM_uint32 minor, major;
    unsigned char msg[] = "tamper me, if you can";
    gss_buffer_desc in = {sizeof msg, msg}, tok, out = GSS_C_EMPTY_BUFFER;
    gss_qop_t qop;

    CHECK_GSS("gss_wrap", gss_wrap(&minor, a, 1, GSS_C_QOP_DEFAULT, &in, NULL, &tok));
    ((unsigned char *)tok.value)[tok.length - 1] ^= 0x01;
    major = gss_unwrap(&minor, b, &tok, &out, NULL, NULL);
    if (!GSS_ERROR(major))
        fail("gss_unwrap", major, minor, "tampered sealed token accepted");
    gss_release_buffer(&minor, &tok);
    gss_release_buffer(&minor, &out);
    ok("tampered wrap token rejected (major %#x)", major);

    CHECK_GSS("gss_get_mic", gss_get_mic(&minor, b, GSS_C_QOP_DEFAULT, &in, &tok));
    msg[0] ^= 0x20;
    major = gss_verify_mic(&minor, a, &in, &tok, &qop);
    if (!GSS_ERROR(major))
        fail("gss_verify_mic", major, minor, "MIC over a changed message accepted");
    gss_release_buffer(&minor, &tok);
    ok("MIC over a changed message rejected (major %#x)", major);
}

static gss_cred_id_t password_cred(const char *user, const char *pass, gss_OID mech)
{
    OM_uint32 minor;
    gss_name_t name = import_name(user, GSS_C_NT_USER_NAME);
    gss_buffer_desc pw = {strlen(pass), (void *)pass};
    gss_OID_desc mechs_elem = *mech;
    gss_OID_set_desc mechs = {1, &mechs_elem};
    gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
    CHECK_GSS("gss_acquire_cred_with_password",
              gss_acquire_cred_with_password(&minor, name, &pw, GSS_C_INDEFINITE, &mechs,
                                             GSS_C_INITIATE, &cred, NULL, NULL));
    gss_release_name(&minor, &name);
    return cred;
}

/* `spn` is what the initiator reports as the target (host/HOST); `own` what an acceptor without a
 * credential name reports as its name once established: the SPN the initiator targeted (its MsvAvTargetName),
 * as MIT's krb5 reports the ticket's server. */
static void run(const char *label, gss_OID mech, int with_password, const char *target_text,
                const char *spn, const char *own)
{
    OM_uint32 minor, major;
    int acc_failed;
    OM_uint32 mins[2];
    struct pair p = {GSS_C_NO_CONTEXT, GSS_C_NO_CONTEXT, GSS_C_NO_CREDENTIAL, GSS_C_NO_NAME, NULL, 0, 0};
    OM_uint32 req = GSS_C_INTEG_FLAG | GSS_C_CONF_FLAG | GSS_C_REPLAY_FLAG | GSS_C_SEQUENCE_FLAG;
    phase = label;

    if (with_password)
        p.icred = password_cred("TESTDOM\\testuser", "Passw0rd!", mech);
    else {
        /* Default credential from NTLM_USER_FILE; SPNEGO offers only NTLMSSP. */
        gss_OID_set_desc mechs = {1, mech};
        CHECK_GSS("gss_acquire_cred", gss_acquire_cred(&minor, GSS_C_NO_NAME, GSS_C_INDEFINITE, &mechs,
                                                       GSS_C_INITIATE, &p.icred, NULL, NULL));
        gss_OID_set_desc neg = {1, &ntlmssp_oid};
        CHECK_GSS("gss_set_neg_mechs", gss_set_neg_mechs(&minor, p.icred, &neg));
    }
    gss_name_t target = import_name(target_text, GSS_C_NT_HOSTBASED_SERVICE);
    major = establish(&p, mech, target, req, mins, &acc_failed);
    if (major != GSS_S_COMPLETE)
        fail("handshake", major, mins[0], "(%s side)", acc_failed ? "acceptor" : "initiator");
    ok("context established");
    if (p.mech == GSS_C_NO_OID || p.mech->length != ntlmssp_oid.length ||
        memcmp(p.mech->elements, ntlmssp_oid.elements, ntlmssp_oid.length) != 0)
        fail("gss_accept_sec_context", 0, 0, "mech_type is not NTLMSSP");
    char *src = display(p.src);
    if (strcmp(src, "TESTDOM\\testuser") != 0)
        fail("gss_accept_sec_context", 0, 0, "src_name \"%s\"", src);
    ok("acceptor src_name \"%s\" (%zu bytes, no NUL)", src, strlen(src));
    free(src);

    inquire(p.init, "initiator", 1, req, "TESTDOM\\testuser", spn);
    inquire(p.acc, "acceptor", 0, req, "TESTDOM\\testuser", own);

    gss_buffer_desc ik, ak;
    session_key(p.init, &ik);
    session_key(p.acc, &ak);
    if (ik.length != 16 || ak.length != ik.length || memcmp(ik.value, ak.value, ik.length) != 0)
        fail("session key", 0, 0, "initiator %zu bytes, acceptor %zu bytes, differ", ik.length, ak.length);
    ok("SSPI session key: %zu bytes, equal on both sides", ik.length);
    free(ik.value);
    free(ak.value);

    static const size_t sizes[] = {0, 1, 1024, 65536};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        roundtrip(p.init, p.acc, sizes[i], 1, "init->acc");
        roundtrip(p.acc, p.init, sizes[i], 1, "acc->init");
    }
    roundtrip(p.init, p.acc, 0, 0, "init->acc");
    iov_roundtrip(p.init, p.acc, 1000, "init->acc");
    iov_roundtrip(p.acc, p.init, 0, "acc->init");
    mic(p.init, p.acc, 0, "init->acc");
    mic(p.acc, p.init, 0, "acc->init");

    /* Middle of the stream: both sides exported and imported, then the stream goes on. */
    reimport(&p.init, "initiator");
    reimport(&p.acc, "acceptor");
    roundtrip(p.init, p.acc, 1024, 1, "init->acc after import");
    roundtrip(p.acc, p.init, 1024, 1, "acc->init after import");
    roundtrip(p.init, p.acc, 0, 0, "init->acc after import");
    mic(p.init, p.acc, 100, "init->acc after import");
    mic(p.acc, p.init, 0, "acc->init after import");
    inquire(p.init, "initiator after import", 1, req, "TESTDOM\\testuser", spn);
    inquire(p.acc, "acceptor after import", 0, req, "TESTDOM\\testuser", own);

    size_limit(p.init, 1000);
    size_limit(p.acc, 70000);
    size_limit(p.init, 17);

    tampered(p.init, p.acc);

    gss_delete_sec_context(&minor, &p.init, GSS_C_NO_BUFFER);
    gss_delete_sec_context(&minor, &p.acc, GSS_C_NO_BUFFER);
    gss_release_cred(&minor, &p.icred);
    gss_release_name(&minor, &p.src);
    gss_release_name(&minor, &target);
}

static void wrong_password(const char *target_text)
{
    OM_uint32 minor, mins[2];
    int acc_failed;
    struct pair p = {GSS_C_NO_CONTEXT, GSS_C_NO_CONTEXT, GSS_C_NO_CREDENTIAL, GSS_C_NO_NAME, NULL, 0, 0};
    phase = "wrong password";
    p.icred = password_cred("TESTDOM\\testuser", "not-the-password", &ntlmssp_oid);
    gss_name_t target = import_name(target_text, GSS_C_NT_HOSTBASED_SERVICE);
    OM_uint32 major = establish(&p, &ntlmssp_oid, target, GSS_C_INTEG_FLAG | GSS_C_CONF_FLAG, mins,
                                &acc_failed);
    if (!GSS_ERROR(major))
        fail("handshake", major, 0, "a wrong password was accepted");
    if (!acc_failed)
        fail("handshake", major, mins[0], "expected the acceptor to refuse");
    /* MIT 1.20 keeps the union context of a failed later accept call for the caller to delete
     * (RFC 2744 §5.1); the gss_delete_sec_context below releases it (valgrind checks nothing leaks). */

    OM_uint32 msg_ctx = 0;
    gss_buffer_desc text;
    CHECK_GSS("gss_display_status",
              gss_display_status(&minor, major, GSS_C_GSS_CODE, GSS_C_NO_OID, &msg_ctx, &text));
    ok("major status %#x: \"%.*s\"", major, (int)text.length, (char *)text.value);
    gss_release_buffer(&minor, &text);
    msg_ctx = 0;
    CHECK_GSS("gss_display_status",
              gss_display_status(&minor, mins[0], GSS_C_MECH_CODE, &ntlmssp_oid, &msg_ctx, &text));
    if (memmem(text.value, text.length, "password", 8) == NULL)
        fail("gss_display_status", 0, 0, "minor text \"%.*s\" does not mention the password",
             (int)text.length, (char *)text.value);
    ok("minor status %#x: \"%.*s\"", mins[0], (int)text.length, (char *)text.value);
    gss_release_buffer(&minor, &text);

    gss_delete_sec_context(&minor, &p.init, GSS_C_NO_BUFFER);
    gss_delete_sec_context(&minor, &p.acc, GSS_C_NO_BUFFER);
    gss_release_cred(&minor, &p.icred);
    gss_release_name(&minor, &p.src);
    gss_release_name(&minor, &target);
}

int main(void)
{
    const char *host = getenv("HANDSHAKE_HOST");
    if (host == NULL || *host == '\0')
        host = "localhost";
    char target[300], spn[300];
    snprintf(target, sizeof target, "host@%s", host);
    snprintf(spn, sizeof spn, "host/%s", host);

    run("ntlmssp", &ntlmssp_oid, 1, target, spn, spn);
    run("spnego", &spnego_oid, 0, target, spn, spn);
    wrong_password(target);
    printf("handshake: %d checks passed\n", checks);
    return 0;
}
