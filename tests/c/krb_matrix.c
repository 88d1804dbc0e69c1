/*
 * Kerberos through SPNEGO (OID 1.3.6.1.5.5.2 requested from MIT's mechglue), one process, one handshake per case:
 * the initiator's credential from four sources times channel bindings on neither, both, or one side. Driven by
 * tests/interposer_kerberos.rs with a GSS_MECH_CONFIG with our interposer line and without it (MIT's SPNEGO, the
 * oracle), and under valgrind memcheck.
 *
 * argv: <target HTTP@host> <user principal> <password> <ccache for the store case, "FILE:..."> <keytab "FILE:...">
 * Environment: KRB5_CONFIG (the loopback KDC), KRB5CCNAME (a ccache with the user's TGT), KRB5_KTNAME (the
 * acceptor's keytab, for the cases with the default acceptor credential), KRB5RCACHETYPE=none.
 *
 * Initiator credential sources: GSS_C_NO_CREDENTIAL (the default ccache), gss_acquire_cred by name,
 * gss_acquire_cred_with_password (an AS exchange with the KDC), gss_acquire_cred_from with a `ccache` store. The
 * acceptor uses GSS_C_NO_CREDENTIAL (KRB5_KTNAME) or gss_acquire_cred_from with a `keytab` store.
 *
 * Prints per case one line "case <label> established" or "case <label> <call> major 0x<major>" (the first call
 * that failed), which the driver compares between the two SPNEGOs. After an establishment: "ok <label> <check>"
 * per check (inquire_context mech krb5 on both sides, peer name, wrap/unwrap both ways, a MIC, one side's context
 * exported and imported with a message in flight, wrap/unwrap both ways after the import). A failed check prints
 * "FAIL <label> <check>: ..." and exits 1.
 */
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static gss_OID_desc spnego_oid = {6, "\x2b\x06\x01\x05\x05\x02"};
static gss_OID_desc krb5_oid = {9, "\x2a\x86\x48\x86\xf7\x12\x01\x02\x02"};
static gss_OID_set_desc spnego_set = {1, &spnego_oid};

enum source { SRC_DEFAULT, SRC_NAME, SRC_PASSWORD, SRC_STORE };
enum bindings { CB_NONE, CB_SAME, CB_DIFFERENT, CB_ACCEPTOR_ONLY, CB_INITIATOR_ONLY };

static const char *source_names[] = {"default", "name", "password", "store"};
static const char *bindings_names[] = {"none", "same", "different", "acceptor-only", "initiator-only"};

struct kase {
    enum source src;
    enum bindings cb;
    int acceptor_keytab;  /* the acceptor's credential from gss_acquire_cred_from(keytab) */
    int export_initiator; /* which side's context is exported and imported mid-stream */
};

static const struct kase cases[] = {
    {SRC_DEFAULT, CB_NONE, 0, 0},           {SRC_DEFAULT, CB_SAME, 1, 1},
    {SRC_NAME, CB_NONE, 1, 0},              {SRC_NAME, CB_SAME, 0, 1},
    {SRC_PASSWORD, CB_NONE, 0, 1},          {SRC_PASSWORD, CB_SAME, 1, 0},
    {SRC_STORE, CB_NONE, 1, 1},             {SRC_STORE, CB_SAME, 0, 0},
    {SRC_DEFAULT, CB_DIFFERENT, 0, 0},      {SRC_NAME, CB_DIFFERENT, 1, 0},
    {SRC_PASSWORD, CB_DIFFERENT, 0, 0},     {SRC_STORE, CB_DIFFERENT, 1, 0},
    {SRC_DEFAULT, CB_ACCEPTOR_ONLY, 1, 0},  {SRC_STORE, CB_ACCEPTOR_ONLY, 0, 1},
    {SRC_DEFAULT, CB_INITIATOR_ONLY, 0, 1}, {SRC_PASSWORD, CB_INITIATOR_ONLY, 1, 0},
};

static const char *target_text, *user, *password, *store_ccache, *keytab;
static char label[128];

static void fail(const char *check, OM_uint32 major, OM_uint32 minor, const char *why)
{
    printf("FAIL %s %s: major 0x%x minor 0x%x %s\n", label, check, major, minor, why);
    exit(1);
}

static void ok(const char *check)
{
    printf("ok %s %s\n", label, check);
}

static gss_name_t import_name(const char *text, gss_OID type)
{
    OM_uint32 major, minor;
    gss_buffer_desc buf = {strlen(text), (void *)text};
    gss_name_t name = GSS_C_NO_NAME;
    major = gss_import_name(&minor, &buf, type, &name);
    if (GSS_ERROR(major))
        fail("gss_import_name", major, minor, text);
    return name;
}

/* The initiator's credential from the case's source (GSS_C_NO_CREDENTIAL for the default). */
static OM_uint32 initiator_cred(enum source src, gss_cred_id_t *cred, OM_uint32 *minor)
{
    gss_name_t name = GSS_C_NO_NAME;
    OM_uint32 major = GSS_S_COMPLETE;
    gss_key_value_element_desc elem = {"ccache", store_ccache};
    gss_key_value_set_desc store = {1, &elem};
    gss_buffer_desc pw = {strlen(password), (void *)password};
    *cred = GSS_C_NO_CREDENTIAL;
    switch (src) {
    case SRC_DEFAULT:
        break;
    case SRC_NAME:
        name = import_name(user, GSS_C_NT_USER_NAME);
        major = gss_acquire_cred(minor, name, GSS_C_INDEFINITE, &spnego_set, GSS_C_INITIATE, cred, NULL, NULL);
        break;
    case SRC_PASSWORD:
        name = import_name(user, GSS_C_NT_USER_NAME);
        major = gss_acquire_cred_with_password(minor, name, &pw, GSS_C_INDEFINITE, &spnego_set, GSS_C_INITIATE,
                                               cred, NULL, NULL);
        break;
    case SRC_STORE:
        major = gss_acquire_cred_from(minor, GSS_C_NO_NAME, GSS_C_INDEFINITE, &spnego_set, GSS_C_INITIATE, &store,
                                      cred, NULL, NULL);
        break;
    }
    OM_uint32 ignored;
    gss_release_name(&ignored, &name);
    return major;
}

static OM_uint32 acceptor_cred(int from_keytab, gss_cred_id_t *cred, OM_uint32 *minor)
{
    gss_key_value_element_desc elem = {"keytab", keytab};
    gss_key_value_set_desc store = {1, &elem};
    *cred = GSS_C_NO_CREDENTIAL;
    if (!from_keytab)
        return GSS_S_COMPLETE;
    return gss_acquire_cred_from(minor, GSS_C_NO_NAME, GSS_C_INDEFINITE, &spnego_set, GSS_C_ACCEPT, &store, cred,
                                 NULL, NULL);
}

/* Channel bindings with application data `data` (a tls-server-end-point style value). */
static void bindings(struct gss_channel_bindings_struct *cb, const char *data)
{
    memset(cb, 0, sizeof(*cb));
    cb->initiator_addrtype = GSS_C_AF_NULLADDR;
    cb->acceptor_addrtype = GSS_C_AF_NULLADDR;
    cb->application_data.length = strlen(data);
    cb->application_data.value = (void *)data;
}

static int same_oid(gss_OID a, const gss_OID_desc *b)
{
    return a != GSS_C_NO_OID && a->length == b->length && memcmp(a->elements, b->elements, b->length) == 0;
}

/* The mechanism of `ctx` must be krb5. */
static void check_mech(gss_ctx_id_t ctx, const char *side)
{
    OM_uint32 major, minor;
    gss_OID mech = GSS_C_NO_OID;
    int open = 0;
    char check[64];
    snprintf(check, sizeof(check), "inquire_context %s mech krb5", side);
    major = gss_inquire_context(&minor, ctx, NULL, NULL, NULL, &mech, NULL, NULL, &open);
    if (GSS_ERROR(major))
        fail(check, major, minor, "");
    if (!open || !same_oid(mech, &krb5_oid))
        fail(check, 0, 0, open ? "mech is not krb5" : "not open");
    ok(check);
}

/* A message wrapped (sealed) on `from`; the token in `tok`. */
static void wrap(gss_ctx_id_t from, const char *msg, gss_buffer_t tok, const char *check)
{
    OM_uint32 major, minor;
    int conf = 0;
    gss_buffer_desc in = {strlen(msg), (void *)msg};
    major = gss_wrap(&minor, from, 1, GSS_C_QOP_DEFAULT, &in, &conf, tok);
    if (GSS_ERROR(major))
        fail(check, major, minor, "gss_wrap");
    if (!conf)
        fail(check, 0, 0, "gss_wrap did not seal");
}

/* `tok` unwrapped on `to` must give `msg`; the token is released. */
static void unwrap(gss_ctx_id_t to, gss_buffer_t tok, const char *msg, const char *check)
{
    OM_uint32 major, minor;
    int conf = 0;
    gss_buffer_desc out = GSS_C_EMPTY_BUFFER;
    major = gss_unwrap(&minor, to, tok, &out, &conf, NULL);
    gss_release_buffer(&minor, tok);
    if (GSS_ERROR(major))
        fail(check, major, minor, "gss_unwrap");
    if (!conf || out.length != strlen(msg) || memcmp(out.value, msg, out.length) != 0)
        fail(check, 0, 0, "unwrapped message differs");
    gss_release_buffer(&minor, &out);
}

static void roundtrip(gss_ctx_id_t from, gss_ctx_id_t to, const char *msg, const char *check)
{
    gss_buffer_desc tok = GSS_C_EMPTY_BUFFER;
    wrap(from, msg, &tok, check);
    unwrap(to, &tok, msg, check);
    ok(check);
}

static void mic(gss_ctx_id_t from, gss_ctx_id_t to, const char *check)
{
    OM_uint32 major, minor;
    gss_buffer_desc msg = {11, "mic message"}, tok = GSS_C_EMPTY_BUFFER;
    major = gss_get_mic(&minor, from, GSS_C_QOP_DEFAULT, &msg, &tok);
    if (GSS_ERROR(major))
        fail(check, major, minor, "gss_get_mic");
    major = gss_verify_mic(&minor, to, &msg, &tok, NULL);
    gss_release_buffer(&minor, &tok);
    if (GSS_ERROR(major))
        fail(check, major, minor, "gss_verify_mic");
    ok(check);
}

/* The acceptor's peer must be the user. */
static void check_peer(gss_name_t src)
{
    OM_uint32 major, minor;
    gss_buffer_desc buf = GSS_C_EMPTY_BUFFER;
    major = gss_display_name(&minor, src, &buf, NULL);
    if (GSS_ERROR(major))
        fail("acceptor peer", major, minor, "gss_display_name");
    int same = buf.length == strlen(user) && memcmp(buf.value, user, buf.length) == 0;
    gss_release_buffer(&minor, &buf);
    if (!same)
        fail("acceptor peer", 0, 0, "not the user");
    ok("acceptor peer");
}

/* `*ctx` exported and imported again. */
static void reimport(gss_ctx_id_t *ctx, const char *check)
{
    OM_uint32 major, minor;
    gss_buffer_desc tok = GSS_C_EMPTY_BUFFER;
    major = gss_export_sec_context(&minor, ctx, &tok);
    if (GSS_ERROR(major))
        fail(check, major, minor, "gss_export_sec_context");
    if (*ctx != GSS_C_NO_CONTEXT)
        fail(check, 0, 0, "export left the context");
    major = gss_import_sec_context(&minor, &tok, ctx);
    gss_release_buffer(&minor, &tok);
    if (GSS_ERROR(major))
        fail(check, major, minor, "gss_import_sec_context");
}

/* The checks after an establishment. */
static void use(gss_ctx_id_t *ini, gss_ctx_id_t *acc, gss_name_t src, int export_initiator)
{
    gss_buffer_desc tok = GSS_C_EMPTY_BUFFER;
    check_mech(*ini, "initiator");
    check_mech(*acc, "acceptor");
    check_peer(src);
    roundtrip(*ini, *acc, "to the acceptor", "wrap initiator->acceptor");
    roundtrip(*acc, *ini, "to the initiator", "wrap acceptor->initiator");
    mic(*ini, *acc, "mic initiator->acceptor");
    /* Mid-stream: a message in flight towards the side whose context moves. */
    if (export_initiator) {
        wrap(*acc, "in flight", &tok, "export initiator mid-stream");
        reimport(ini, "export initiator mid-stream");
        unwrap(*ini, &tok, "in flight", "export initiator mid-stream");
        ok("export initiator mid-stream");
    } else {
        wrap(*ini, "in flight", &tok, "export acceptor mid-stream");
        reimport(acc, "export acceptor mid-stream");
        unwrap(*acc, &tok, "in flight", "export acceptor mid-stream");
        ok("export acceptor mid-stream");
    }
    roundtrip(*ini, *acc, "after the import", "wrap initiator->acceptor after import");
    roundtrip(*acc, *ini, "after the import, back", "wrap acceptor->initiator after import");
}

static void run(const struct kase *k, gss_name_t target)
{
    OM_uint32 major, minor = 0, imaj = GSS_S_CONTINUE_NEEDED, amaj = GSS_S_CONTINUE_NEEDED;
    gss_cred_id_t icred = GSS_C_NO_CREDENTIAL, acred = GSS_C_NO_CREDENTIAL;
    gss_ctx_id_t ini = GSS_C_NO_CONTEXT, acc = GSS_C_NO_CONTEXT;
    gss_buffer_desc itok = GSS_C_EMPTY_BUFFER, atok = GSS_C_EMPTY_BUFFER;
    gss_name_t src = GSS_C_NO_NAME;
    struct gss_channel_bindings_struct icb, acb;
    gss_channel_bindings_t ib = GSS_C_NO_CHANNEL_BINDINGS, ab = GSS_C_NO_CHANNEL_BINDINGS;
    const char *failed = NULL;

    snprintf(label, sizeof(label), "src=%s cb=%s acceptor=%s", source_names[k->src], bindings_names[k->cb],
             k->acceptor_keytab ? "keytab-store" : "default");
    bindings(&icb, "tls-server-end-point:channel one");
    bindings(&acb, k->cb == CB_DIFFERENT ? "tls-server-end-point:channel two" : "tls-server-end-point:channel one");
    if (k->cb == CB_SAME || k->cb == CB_DIFFERENT || k->cb == CB_INITIATOR_ONLY)
        ib = &icb;
    if (k->cb == CB_SAME || k->cb == CB_DIFFERENT || k->cb == CB_ACCEPTOR_ONLY)
        ab = &acb;

    major = initiator_cred(k->src, &icred, &minor);
    if (GSS_ERROR(major)) {
        failed = "initiator-cred";
        goto out;
    }
    major = acceptor_cred(k->acceptor_keytab, &acred, &minor);
    if (GSS_ERROR(major)) {
        failed = "acceptor-cred";
        goto out;
    }
    for (int round = 0; imaj == GSS_S_CONTINUE_NEEDED || amaj == GSS_S_CONTINUE_NEEDED; round++) {
        if (round > 4) {
            major = GSS_S_FAILURE;
            failed = "rounds";
            goto out;
        }
        if (imaj == GSS_S_CONTINUE_NEEDED) {
            gss_release_buffer(&minor, &itok);
            imaj = gss_init_sec_context(&minor, icred, &ini, target, &spnego_oid,
                                        GSS_C_MUTUAL_FLAG | GSS_C_INTEG_FLAG | GSS_C_CONF_FLAG, 0, ib, &atok, NULL,
                                        &itok, NULL, NULL);
            if (GSS_ERROR(imaj)) {
                major = imaj;
                failed = "init_sec_context";
                goto out;
            }
        }
        if (itok.length == 0)
            break;
        gss_release_buffer(&minor, &atok);
        if (src != GSS_C_NO_NAME)
            gss_release_name(&minor, &src);
        amaj = gss_accept_sec_context(&minor, &acc, acred, &itok, ab, &src, NULL, &atok, NULL, NULL, NULL);
        if (GSS_ERROR(amaj)) {
            major = amaj;
            failed = "accept_sec_context";
            goto out;
        }
        gss_release_buffer(&minor, &itok);
        if (atok.length == 0 && imaj == GSS_S_COMPLETE)
            break;
    }
    if (imaj != GSS_S_COMPLETE || amaj != GSS_S_COMPLETE) {
        major = imaj != GSS_S_COMPLETE ? imaj : amaj;
        failed = "incomplete";
        goto out;
    }
    printf("case %s established\n", label);
    fflush(stdout);
    use(&ini, &acc, src, k->export_initiator);
out:
    if (failed != NULL)
        printf("case %s %s major 0x%x\n", label, failed, major);
    fflush(stdout);
    gss_release_buffer(&minor, &itok);
    gss_release_buffer(&minor, &atok);
    gss_release_name(&minor, &src);
    gss_delete_sec_context(&minor, &ini, GSS_C_NO_BUFFER);
    gss_delete_sec_context(&minor, &acc, GSS_C_NO_BUFFER);
    gss_release_cred(&minor, &icred);
    gss_release_cred(&minor, &acred);
}

int main(int argc, char **argv)
{
    OM_uint32 minor;
    if (argc != 6) {
        fprintf(stderr, "usage: krb_matrix <target> <user> <password> <store ccache> <keytab>\n");
        return 2;
    }
    target_text = argv[1];
    user = argv[2];
    password = argv[3];
    store_ccache = argv[4];
    keytab = argv[5];
    snprintf(label, sizeof(label), "setup");
    gss_name_t target = import_name(target_text, GSS_C_NT_HOSTBASED_SERVICE);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run(&cases[i], target);
    gss_release_name(&minor, &target);
    return 0;
}
