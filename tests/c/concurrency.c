/*
 * Concurrency test of the gss-negotiate plugin through MIT's mechglue (GSS_MECH_CONFIG selects the plugin;
 * this program links libgssapi_krb5 and libpthread only, never the plugin). Driven by tests/concurrency.rs.
 *
 * Environment: GSS_MECH_CONFIG, NTLM_USER_FILE (this program rewrites it), KRB5_CONFIG, HANDSHAKE_HOST,
 * CONC_THREADS (default 8), CONC_HANDSHAKES (per thread and phase, default 500), CONC_MECH (ntlmssp, the
 * default, or spnego: every credential and context then asks for SPNEGO, e.g. through our interposer).
 *
 * Phases (raw NTLMSSP mech, initiator credential from gss_acquire_cred_with_password):
 *  parallel  CONC_THREADS threads, each CONC_HANDSHAKES handshakes as its own user (user<t>), initiator
 *            and acceptor in the same thread; per handshake: the acceptor's src_name must be that thread's
 *            user, wrap/unwrap both ways with a message naming thread and iteration, get_mic/verify_mic both
 *            ways, a changed message's MIC refused (every 16th), both contexts deleted.
 *  handoff   half the threads produce context pairs (every second one stopped after the CHALLENGE), the other
 *            half take them from a queue, finish the handshake if needed, check wrap/MIC and delete them.
 *  reload    CONC_THREADS-1 threads authenticate while one thread rewrites NTLM_USER_FILE, first by atomic
 *            rename, then in place (truncate + two writes). Users: "stable" (same password in both versions),
 *            "rot" (password A or B depending on the version), "ghost" (only in version B), a wrong
 *            password, an unknown user, and the default credential (first line: rot in A, ghost in B).
 *            Never allowed: a success for a wrong password or an unknown user, a src_name other than the
 *            initiator's user, a calling error. With rename, "stable" must always succeed; in place,
 *            failures are counted (clean GSS errors while the file is half written).
 *
 * Prints "ok ..." lines and a summary; on a wrong result prints "FAIL ..." and exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static gss_OID_desc ntlmssp_oid = {10, "\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a"};
static gss_OID_desc spnego_oid = {6, "\x2b\x06\x01\x05\x05\x02"};
/* The mechanism every credential and context asks for: NTLMSSP, or SPNEGO with CONC_MECH=spnego (then the
 * configuration decides whether MIT's SPNEGO or our interposer negotiates). */
static gss_OID mech_oid = &ntlmssp_oid;

static int nthreads = 8, nhandshakes = 500;
static char target_text[300];
static const char *user_file;

static void fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "FAIL ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static gss_name_t import_name(const char *text, gss_OID type)
{
    OM_uint32 major, minor;
    gss_buffer_desc buf = {strlen(text), (void *)text};
    gss_name_t name = GSS_C_NO_NAME;
    major = gss_import_name(&minor, &buf, type, &name);
    if (GSS_ERROR(major))
        fail("gss_import_name(%s): %#x/%#x", text, major, minor);
    return name;
}

/* The display form of `name` into `out` (NUL-terminated, truncated to `n`). */
static void display(gss_name_t name, char *out, size_t n)
{
    OM_uint32 major, minor;
    gss_buffer_desc buf;
    major = gss_display_name(&minor, name, &buf, NULL);
    if (GSS_ERROR(major))
        fail("gss_display_name: %#x/%#x", major, minor);
    snprintf(out, n, "%.*s", (int)buf.length, (char *)buf.value);
    gss_release_buffer(&minor, &buf);
}

/* Credential for DOMAIN\user with `pass`, or NULL-cred with *major set when acquisition fails. */
static gss_cred_id_t password_cred(const char *user, const char *pass, OM_uint32 *major)
{
    OM_uint32 minor;
    gss_name_t name = import_name(user, GSS_C_NT_USER_NAME);
    gss_buffer_desc pw = {strlen(pass), (void *)pass};
    gss_OID_set_desc mechs = {1, mech_oid};
    gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
    *major = gss_acquire_cred_with_password(&minor, name, &pw, GSS_C_INDEFINITE, &mechs, GSS_C_INITIATE,
                                            &cred, NULL, NULL);
    gss_release_name(&minor, &name);
    return cred;
}

struct pair {
    gss_ctx_id_t init, acc;
    gss_cred_id_t icred;
    gss_name_t target, src;
    gss_buffer_desc pending; /* CHALLENGE waiting for the initiator (handoff phase) */
    int user;                /* index of the expected user (parallel / handoff) */
};

static const OM_uint32 req_flags =
    GSS_C_INTEG_FLAG | GSS_C_CONF_FLAG | GSS_C_REPLAY_FLAG | GSS_C_SEQUENCE_FLAG;

/* Drives the token loop from `p->pending` (empty at the start). Stops early after `stop_after` accept
 * calls when that is > 0 (the last acceptor token stays in p->pending). Returns the major status of the
 * failing side, GSS_S_COMPLETE when both sides are complete, or GSS_S_CONTINUE_NEEDED when stopped. */
static OM_uint32 drive(struct pair *p, int stop_after, OM_uint32 *minor_out)
{
    OM_uint32 major, amajor = GSS_S_CONTINUE_NEEDED, minor = 0, m2;
    gss_buffer_desc in = p->pending, out = GSS_C_EMPTY_BUFFER;
    int accepts = 0;
    p->pending.length = 0;
    p->pending.value = NULL;
    *minor_out = 0;
    for (int round = 0; round < 6; round++) {
        major = gss_init_sec_context(&minor, p->icred, &p->init, p->target, mech_oid, req_flags, 0,
                                     GSS_C_NO_CHANNEL_BINDINGS, &in, NULL, &out, NULL, NULL);
        gss_release_buffer(&m2, &in);
        if (GSS_ERROR(major)) {
            *minor_out = minor;
            gss_release_buffer(&m2, &out);
            return major;
        }
        if (out.length == 0)
            return (major == GSS_S_COMPLETE && amajor == GSS_S_COMPLETE) ? GSS_S_COMPLETE : GSS_S_FAILURE;
        if (p->src != GSS_C_NO_NAME)
            gss_release_name(&m2, &p->src);
        amajor = gss_accept_sec_context(&minor, &p->acc, GSS_C_NO_CREDENTIAL, &out,
                                        GSS_C_NO_CHANNEL_BINDINGS, &p->src, NULL, &in, NULL, NULL, NULL);
        gss_release_buffer(&m2, &out);
        if (GSS_ERROR(amajor)) {
            *minor_out = minor;
            gss_release_buffer(&m2, &in);
            return amajor;
        }
        accepts++;
        if (major == GSS_S_COMPLETE && amajor == GSS_S_COMPLETE && in.length == 0)
            return GSS_S_COMPLETE;
        if (stop_after > 0 && accepts == stop_after) {
            p->pending = in;
            return GSS_S_CONTINUE_NEEDED;
        }
    }
    *minor_out = minor;
    return GSS_S_FAILURE;
}

static void release_pair(struct pair *p)
{
    OM_uint32 major, minor;
    if (p->init != GSS_C_NO_CONTEXT) {
        major = gss_delete_sec_context(&minor, &p->init, GSS_C_NO_BUFFER);
        if (major != GSS_S_COMPLETE || p->init != GSS_C_NO_CONTEXT)
            fail("gss_delete_sec_context(initiator): %#x/%#x", major, minor);
    }
    if (p->acc != GSS_C_NO_CONTEXT) {
        major = gss_delete_sec_context(&minor, &p->acc, GSS_C_NO_BUFFER);
        if (major != GSS_S_COMPLETE || p->acc != GSS_C_NO_CONTEXT)
            fail("gss_delete_sec_context(acceptor): %#x/%#x", major, minor);
    }
    gss_release_cred(&minor, &p->icred);
    gss_release_name(&minor, &p->src);
    gss_release_name(&minor, &p->target);
    gss_release_buffer(&minor, &p->pending);
}

/* wrap on `from`, unwrap on `to`, the same bytes must come back. */
static void roundtrip(gss_ctx_id_t from, gss_ctx_id_t to, const char *msg, const char *where)
{
    OM_uint32 major, minor;
    int conf = 0;
    gss_buffer_desc in = {strlen(msg), (void *)msg}, tok, out;
    major = gss_wrap(&minor, from, 1, GSS_C_QOP_DEFAULT, &in, &conf, &tok);
    if (GSS_ERROR(major) || conf != 1)
        fail("%s gss_wrap: %#x/%#x conf %d", where, major, minor, conf);
    major = gss_unwrap(&minor, to, &tok, &out, NULL, NULL);
    if (GSS_ERROR(major))
        fail("%s gss_unwrap: %#x/%#x", where, major, minor);
    if (out.length != in.length || memcmp(out.value, msg, in.length) != 0)
        fail("%s gss_unwrap returned \"%.*s\", want \"%s\"", where, (int)out.length, (char *)out.value, msg);
    gss_release_buffer(&minor, &tok);
    gss_release_buffer(&minor, &out);
}

static void mic(gss_ctx_id_t from, gss_ctx_id_t to, const char *msg, int tamper, const char *where)
{
    OM_uint32 major, minor;
    char copy[200];
    snprintf(copy, sizeof copy, "%s", msg);
    gss_buffer_desc in = {strlen(copy), copy}, tok;
    major = gss_get_mic(&minor, from, GSS_C_QOP_DEFAULT, &in, &tok);
    if (GSS_ERROR(major))
        fail("%s gss_get_mic: %#x/%#x", where, major, minor);
    if (tamper)
        copy[0] ^= 0x01;
    major = gss_verify_mic(&minor, to, &in, &tok, NULL);
    if (tamper ? !GSS_ERROR(major) : GSS_ERROR(major))
        fail("%s gss_verify_mic%s: %#x/%#x", where, tamper ? " of a changed message accepted" : "", major,
             minor);
    gss_release_buffer(&minor, &tok);
}

/* Checks an established pair of user `user`: src_name, wrap and MIC both ways. */
static void exercise(struct pair *p, int iter, const char *where)
{
    char name[200], want[64], msg[160];
    display(p->src, name, sizeof name);
    snprintf(want, sizeof want, "TESTDOM\\user%d", p->user);
    if (strcmp(name, want) != 0)
        fail("%s iteration %d: acceptor src_name \"%s\", want \"%s\"", where, iter, name, want);
    snprintf(msg, sizeof msg, "%s: thread user%d iteration %d, initiator to acceptor", where, p->user, iter);
    roundtrip(p->init, p->acc, msg, where);
    snprintf(msg, sizeof msg, "%s: thread user%d iteration %d, acceptor to initiator", where, p->user, iter);
    roundtrip(p->acc, p->init, msg, where);
    snprintf(msg, sizeof msg, "%s: MIC user%d iteration %d", where, p->user, iter);
    mic(p->init, p->acc, msg, 0, where);
    mic(p->acc, p->init, msg, iter % 16 == 0, where);
}

static void start_pair(struct pair *p, int user)
{
    char uname[64], pass[64];
    OM_uint32 major;
    memset(p, 0, sizeof *p);
    p->user = user;
    snprintf(uname, sizeof uname, "TESTDOM\\user%d", user);
    snprintf(pass, sizeof pass, "pw-%d-secret", user);
    p->icred = password_cred(uname, pass, &major);
    if (GSS_ERROR(major))
        fail("gss_acquire_cred_with_password(%s): %#x", uname, major);
    p->target = import_name(target_text, GSS_C_NT_HOSTBASED_SERVICE);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL || fputs(text, f) == EOF || fclose(f) != 0)
        fail("cannot write %s: %s", path, strerror(errno));
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------- parallel */

static void *parallel_thread(void *arg)
{
    int t = (int)(long)arg;
    OM_uint32 minor;
    for (int i = 0; i < nhandshakes; i++) {
        struct pair p;
        start_pair(&p, t);
        OM_uint32 major = drive(&p, 0, &minor);
        if (major != GSS_S_COMPLETE)
            fail("parallel thread %d iteration %d: handshake %#x/%#x", t, i, major, minor);
        exercise(&p, i, "parallel");
        release_pair(&p);
    }
    return NULL;
}

/* ---------------------------------------------------------------- handoff */

#define QCAP 16
static struct pair *queue[QCAP];
static int qhead, qcount, produced_done;
static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qnotempty = PTHREAD_COND_INITIALIZER, qnotfull = PTHREAD_COND_INITIALIZER;
static atomic_int handed_complete, handed_midway;

static void push(struct pair *p)
{
    pthread_mutex_lock(&qlock);
    while (qcount == QCAP)
        pthread_cond_wait(&qnotfull, &qlock);
    queue[(qhead + qcount) % QCAP] = p;
    qcount++;
    pthread_cond_signal(&qnotempty);
    pthread_mutex_unlock(&qlock);
}

/* NULL once every producer has finished and the queue is empty. */
static struct pair *pop(int producers)
{
    struct pair *p = NULL;
    pthread_mutex_lock(&qlock);
    while (qcount == 0 && produced_done < producers)
        pthread_cond_wait(&qnotempty, &qlock);
    if (qcount > 0) {
        p = queue[qhead];
        qhead = (qhead + 1) % QCAP;
        qcount--;
        pthread_cond_signal(&qnotfull);
    }
    pthread_mutex_unlock(&qlock);
    return p;
}

static void *producer_thread(void *arg)
{
    int t = (int)(long)arg;
    OM_uint32 minor;
    for (int i = 0; i < nhandshakes; i++) {
        struct pair *p = malloc(sizeof *p);
        start_pair(p, t);
        int midway = i % 2;
        OM_uint32 major = drive(p, midway ? 1 : 0, &minor);
        if (major != (midway ? GSS_S_CONTINUE_NEEDED : GSS_S_COMPLETE))
            fail("handoff producer %d iteration %d: handshake %#x/%#x", t, i, major, minor);
        push(p);
    }
    pthread_mutex_lock(&qlock);
    produced_done++;
    pthread_cond_broadcast(&qnotempty);
    pthread_mutex_unlock(&qlock);
    return NULL;
}

static void *consumer_thread(void *arg)
{
    int producers = (int)(long)arg, n = 0;
    OM_uint32 minor;
    struct pair *p;
    while ((p = pop(producers)) != NULL) {
        if (p->pending.length != 0) {
            OM_uint32 major = drive(p, 0, &minor);
            if (major != GSS_S_COMPLETE)
                fail("handoff consumer: finishing a handshake begun in another thread: %#x/%#x", major,
                     minor);
            atomic_fetch_add(&handed_midway, 1);
        } else {
            atomic_fetch_add(&handed_complete, 1);
        }
        exercise(p, n++, "handoff");
        release_pair(p);
        free(p);
    }
    return NULL;
}

/* ---------------------------------------------------------------- reload */

enum attempt { A_STABLE, A_ROT_A, A_ROT_B, A_GHOST, A_WRONG, A_UNKNOWN, A_DEFAULT, A_KINDS };
static const char *attempt_names[A_KINDS] = {"stable", "rot/A", "rot/B", "ghost", "wrong-password",
                                             "unknown-user", "default-cred"};
static atomic_int ok_count[2][A_KINDS], err_count[2][A_KINDS], acquire_err[2];
static atomic_int rewrites[2], writer_stop, quiet_checked[2];
/* Seqlock-style: odd while a rewrite is under way; after rewrite k (0-based) it is 2(k+1). */
static atomic_int file_seq;
static int reload_mode; /* 0 rename, 1 in place */

/* Version A and B of the file. "stable" moves (the lines before it change length). */
static const char *version_a =
    "# version A\n"
    "TESTDOM:rot:rot-password-A\n"
    "TESTDOM:stable:stable-password\n";
static const char *version_b =
    "# version B, with a longer comment line so every offset moves .................................\n"
    "TESTDOM:ghost:ghost-password\n"
    "TESTDOM:rot:rot-password-B-is-longer\n"
    "TESTDOM:padding:padding-password-padding-password-padding-password\n"
    "TESTDOM:stable:stable-password\n";

static void rewrite(const char *text)
{
    if (reload_mode == 0) {
        char tmp[4200];
        snprintf(tmp, sizeof tmp, "%s.tmp", user_file);
        write_file(tmp, text);
        if (rename(tmp, user_file) != 0)
            fail("rename: %s", strerror(errno));
    } else {
        int fd = open(user_file, O_WRONLY | O_TRUNC);
        size_t len = strlen(text), half = len / 2;
        if (fd < 0 || write(fd, text, half) != (ssize_t)half ||
            write(fd, text + half, len - half) != (ssize_t)(len - half) || close(fd) != 0)
            fail("in-place rewrite: %s", strerror(errno));
    }
}

static void *writer_thread(void *arg)
{
    (void)arg;
    int n = 0;
    while (!atomic_load(&writer_stop)) {
        atomic_fetch_add(&file_seq, 1);
        rewrite(n % 2 ? version_b : version_a);
        atomic_fetch_add(&file_seq, 1);
        n++;
        atomic_fetch_add(&rewrites[reload_mode], 1);
        usleep(n % 4 == 0 ? 3000 : 300); /* bursts of rewrites, then a pause */
    }
    atomic_fetch_add(&file_seq, 1);
    rewrite(version_a);
    atomic_fetch_add(&file_seq, 1);
    return NULL;
}

static void *reload_thread(void *arg)
{
    int t = (int)(long)arg;
    for (int i = 0; i < nhandshakes; i++) {
        enum attempt kind = (enum attempt)((i + t) % A_KINDS);
        static const char *users[A_KINDS] = {"TESTDOM\\stable", "TESTDOM\\rot", "TESTDOM\\rot",
                                             "TESTDOM\\ghost", "TESTDOM\\stable", "TESTDOM\\nobody", NULL};
        static const char *passwords[A_KINDS] = {"stable-password", "rot-password-A",
                                                 "rot-password-B-is-longer", "ghost-password",
                                                 "stable-passwore", "stable-password", NULL};
        struct pair p;
        OM_uint32 major, minor;
        char expect[200], name[200];
        memset(&p, 0, sizeof p);
        int seq_start = atomic_load(&file_seq);
        if (kind == A_DEFAULT) {
            gss_OID_set_desc mechs = {1, mech_oid};
            gss_name_t cname = GSS_C_NO_NAME;
            major = gss_acquire_cred(&minor, GSS_C_NO_NAME, GSS_C_INDEFINITE, &mechs, GSS_C_INITIATE,
                                     &p.icred, NULL, NULL);
            if (!GSS_ERROR(major))
                major = gss_inquire_cred(&minor, p.icred, &cname, NULL, NULL, NULL);
            if (GSS_ERROR(major)) {
                if (GSS_ROUTINE_ERROR(major) == 0 || GSS_CALLING_ERROR(major) != 0)
                    fail("reload: default credential: %#x/%#x", major, minor);
                atomic_fetch_add(&acquire_err[reload_mode], 1);
                gss_release_cred(&minor, &p.icred);
                continue;
            }
            display(cname, expect, sizeof expect);
            gss_release_name(&minor, &cname);
            if (strcmp(expect, "TESTDOM\\rot") != 0 && strcmp(expect, "TESTDOM\\ghost") != 0)
                fail("reload: default credential is \"%s\", not the first line of either version", expect);
        } else {
            p.icred = password_cred(users[kind], passwords[kind], &major);
            if (GSS_ERROR(major))
                fail("reload: gss_acquire_cred_with_password(%s): %#x", users[kind], major);
            snprintf(expect, sizeof expect, "%s", users[kind]);
        }
        p.target = import_name(target_text, GSS_C_NT_HOSTBASED_SERVICE);
        major = drive(&p, 0, &minor);
        /* Was the file whole and unchanged from before the credential until after the handshake? Then
         * the result must be exactly what that version says, whatever happened before. */
        int seq_end = atomic_load(&file_seq);
        if (seq_start == seq_end && seq_start % 2 == 0) {
            int version_b_on_disk = seq_start != 0 && (seq_start / 2 - 1) % 2 == 1;
            int should = kind == A_STABLE || kind == A_DEFAULT || (kind == A_ROT_A && !version_b_on_disk) ||
                         ((kind == A_ROT_B || kind == A_GHOST) && version_b_on_disk);
            if (should != (major == GSS_S_COMPLETE))
                fail("reload (%s, %s): file unchanged (version %c) during the handshake, but %s (%#x/%#x)",
                     reload_mode ? "in place" : "rename", attempt_names[kind], version_b_on_disk ? 'B' : 'A',
                     should ? "refused" : "accepted", major, minor);
            if (kind == A_DEFAULT && strcmp(expect, version_b_on_disk ? "TESTDOM\\ghost" : "TESTDOM\\rot") != 0)
                fail("reload: default credential \"%s\" is not the first line of the file on disk", expect);
            atomic_fetch_add(&quiet_checked[reload_mode], 1);
        }
        if (major == GSS_S_COMPLETE) {
            if (kind == A_WRONG || kind == A_UNKNOWN)
                fail("reload (%s): %s authenticated with %s", reload_mode ? "in place" : "rename",
                     users[kind], kind == A_WRONG ? "a wrong password" : "no entry in the file");
            display(p.src, name, sizeof name);
            if (strcmp(name, expect) != 0)
                fail("reload: acceptor says \"%s\", initiator was \"%s\"", name, expect);
            char msg[100];
            snprintf(msg, sizeof msg, "reload %d %d", t, i);
            roundtrip(p.init, p.acc, msg, "reload");
            mic(p.acc, p.init, msg, 0, "reload");
            atomic_fetch_add(&ok_count[reload_mode][kind], 1);
        } else {
            if (!GSS_ERROR(major) || GSS_CALLING_ERROR(major) != 0)
                fail("reload (%s, %s): not a clean GSS error: %#x/%#x", reload_mode ? "in place" : "rename",
                     attempt_names[kind], major, minor);
            if (kind == A_STABLE && reload_mode == 0)
                fail("reload (rename): stable user refused (%#x/%#x) although every version has it", major,
                     minor);
            atomic_fetch_add(&err_count[reload_mode][kind], 1);
        }
        release_pair(&p);
    }
    return NULL;
}

/* ---------------------------------------------------------------- main */

static void run_threads(void *(*fn)(void *), int n, long arg_base, int arg_is_const)
{
    pthread_t *th = calloc((size_t)n, sizeof *th);
    for (int i = 0; i < n; i++)
        if (pthread_create(&th[i], NULL, fn, (void *)(arg_is_const ? arg_base : arg_base + i)) != 0)
            fail("pthread_create");
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    free(th);
}

static int env_int(const char *name, int dflt)
{
    const char *v = getenv(name);
    int n = v ? atoi(v) : 0;
    return n > 0 ? n : dflt;
}

int main(void)
{
    const char *host = getenv("HANDSHAKE_HOST");
    user_file = getenv("NTLM_USER_FILE");
    if (user_file == NULL || *user_file == '\0')
        fail("NTLM_USER_FILE is not set");
    if (host == NULL || *host == '\0')
        host = "localhost";
    snprintf(target_text, sizeof target_text, "host@%s", host);
    const char *mech_name = getenv("CONC_MECH");
    if (mech_name && strcmp(mech_name, "spnego") == 0)
        mech_oid = &spnego_oid;
    else if (mech_name && *mech_name && strcmp(mech_name, "ntlmssp") != 0)
        fail("CONC_MECH=%s: want ntlmssp or spnego", mech_name);
    nthreads = env_int("CONC_THREADS", 8);
    nhandshakes = env_int("CONC_HANDSHAKES", 500);
    if (nthreads < 2)
        nthreads = 2;

    char users[4096] = "";
    for (int t = 0; t < nthreads; t++) {
        char line[100];
        snprintf(line, sizeof line, "TESTDOM:user%d:pw-%d-secret\n", t, t);
        strncat(users, line, sizeof users - strlen(users) - 1);
    }
    write_file(user_file, users);
    printf("concurrency: %d threads x %d handshakes per phase, mech %s\n", nthreads, nhandshakes,
           mech_oid == &spnego_oid ? "SPNEGO" : "NTLMSSP");

    double t0 = now();
    run_threads(parallel_thread, nthreads, 0, 0);
    double t1 = now();
    printf("ok parallel: %d handshakes with wrap/unwrap and MIC both ways in %.2f s\n", nthreads * nhandshakes,
           t1 - t0);

    int producers = nthreads / 2, consumers = nthreads - producers;
    pthread_t *pt = calloc((size_t)producers, sizeof *pt), *ct = calloc((size_t)consumers, sizeof *ct);
    for (int i = 0; i < consumers; i++)
        pthread_create(&ct[i], NULL, consumer_thread, (void *)(long)producers);
    for (int i = 0; i < producers; i++)
        pthread_create(&pt[i], NULL, producer_thread, (void *)(long)i);
    for (int i = 0; i < producers; i++)
        pthread_join(pt[i], NULL);
    for (int i = 0; i < consumers; i++)
        pthread_join(ct[i], NULL);
    free(pt);
    free(ct);
    int hc = atomic_load(&handed_complete), hm = atomic_load(&handed_midway);
    if (hc + hm != producers * nhandshakes)
        fail("handoff: %d pairs consumed, %d produced", hc + hm, producers * nhandshakes);
    double t2 = now();
    printf("ok handoff: %d established and %d half-done contexts continued, used and deleted in another "
           "thread in %.2f s\n",
           hc, hm, t2 - t1);

    for (reload_mode = 0; reload_mode < 2; reload_mode++) {
        const char *mode = reload_mode ? "in place" : "rename";
        write_file(user_file, version_a);
        atomic_store(&file_seq, 0);
        atomic_store(&writer_stop, 0);
        pthread_t w;
        pthread_create(&w, NULL, writer_thread, NULL);
        run_threads(reload_thread, nthreads - 1, 0, 0);
        atomic_store(&writer_stop, 1);
        pthread_join(w, NULL);
        int total_ok = 0, total_err = 0;
        printf("ok reload (%s): %d rewrites; default-cred acquisition errors %d; %d handshakes ran while the "
               "file stood still and gave exactly that version's answer\n",
               mode, atomic_load(&rewrites[reload_mode]), atomic_load(&acquire_err[reload_mode]),
               atomic_load(&quiet_checked[reload_mode]));
        for (int k = 0; k < A_KINDS; k++) {
            printf("   reload (%s) %-15s succeeded %5d, clean GSS errors %5d\n", mode, attempt_names[k],
                   atomic_load(&ok_count[reload_mode][k]), atomic_load(&err_count[reload_mode][k]));
            total_ok += atomic_load(&ok_count[reload_mode][k]);
            total_err += atomic_load(&err_count[reload_mode][k]);
        }
        /* The file is whole again (version A): the plugin must see it now. */
        {
            struct pair p;
            OM_uint32 major, minor;
            memset(&p, 0, sizeof p);
            p.icred = password_cred("TESTDOM\\rot", "rot-password-A", &major);
            p.target = import_name(target_text, GSS_C_NT_HOSTBASED_SERVICE);
            major = drive(&p, 0, &minor);
            if (major != GSS_S_COMPLETE)
                fail("reload (%s): after the last rewrite (version A), rot/A is refused: %#x/%#x", mode, major,
                     minor);
            release_pair(&p);
        }
        if (atomic_load(&ok_count[reload_mode][A_STABLE]) == 0)
            fail("reload (%s): the stable user never authenticated", mode);
        printf("ok reload (%s): %d authenticated (all as the right user), %d clean errors, 0 wrong results\n",
               mode, total_ok, total_err);
    }
    printf("concurrency: all phases passed in %.2f s\n", now() - t0);
    return 0;
}
