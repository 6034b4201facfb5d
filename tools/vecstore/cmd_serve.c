/*
 * cmd_serve.c — `vecstore serve`: the HTTP server (include/vecstore_server.h) in the
 * foreground until SIGTERM or SIGINT.
 *
 * Shutdown is graceful: the signal only sets a flag (nothing else is async-signal-safe),
 * the main thread then stops accepting connections, lets requests that have begun finish,
 * and closes the store, which makes the WAL durable. Exit status 0.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "vecstore_server.h"

static const char serve_help[] =
    "usage: vecstore serve STORE [--host ADDR] [--port N] [--api-key KEY]\n"
    "                      [--read-only-key KEY] [--tls-cert FILE --tls-key FILE]\n"
    "                      [--max-body-mb N] [--max-upload-mb N] [--threads N]\n"
    "                      [--max-connections N]\n"
    "                      [--per-ip-connections N] [--idle-timeout S] [--snapshots DIR]\n"
    "                      [--fsync P] [--log]\n"
    "\n"
    "Serves STORE over HTTP with a Qdrant-compatible REST API (docs/http-api.md). The\n"
    "store is created if it does not exist.\n"
    "\n"
    "  --host ADDR           address to bind (default 127.0.0.1: this machine only)\n"
    "  --port N              port (default 6333; 0 = any free port, printed on start)\n"
    "  --api-key KEY         require KEY on every request (api-key header or\n"
    "                        Authorization: Bearer); also VECSTORE_API_KEY\n"
    "  --read-only-key KEY   a second key that may only read; also VECSTORE_READ_ONLY_KEY\n"
    "  --tls-cert, --tls-key PEM files: serve HTTPS\n"
    "  --max-body-mb N       largest request body (default 32)\n"
    "  --max-upload-mb N     largest snapshot upload (default 16384; streamed to disk)\n"
    "  --threads N           request threads (default: one per core)\n"
    "  --max-connections N   open connections at once (default 1024)\n"
    "  --per-ip-connections N  per client address (default: no limit)\n"
    "  --idle-timeout S      close silent connections after S seconds (default 30)\n"
    "  --snapshots DIR       where snapshots go (default STORE/snapshots)\n"
    "  --fsync P             always | batch | off (default always)\n"
    "  --log                 one line per request on stderr\n"
    "\n"
    "Stops on SIGTERM or SIGINT: in-flight requests finish, the WAL is synced, exit 0.\n";

static const cli_optspec serve_opts[] = {
    {"host", 0, OPT_VALUE},        {"port", 'p', OPT_VALUE},       {"api-key", 0, OPT_VALUE},
    {"read-only-key", 0, OPT_VALUE}, {"tls-cert", 0, OPT_VALUE},   {"tls-key", 0, OPT_VALUE},
    {"max-body-mb", 0, OPT_VALUE}, {"max-upload-mb", 0, OPT_VALUE}, {"threads", 0, OPT_VALUE},      {"max-connections", 0, OPT_VALUE},
    {"per-ip-connections", 0, OPT_VALUE}, {"idle-timeout", 0, OPT_VALUE},
    {"snapshots", 0, OPT_VALUE},   {"fsync", 0, OPT_VALUE},        {"log", 0, OPT_FLAG},
    {NULL, 0, 0}};

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

int cmd_serve(int argc, char **argv) {
    cli_args a;
    vs_store *s = NULL;
    vs_server *srv = NULL;
    int rc = cli_parse(&a, argc, argv, serve_opts, serve_help);
    if (rc || a.help) goto done;
    if ((rc = cli_need_pos(&a, 1, 1, "STORE"))) goto done;
    vs_server_options o;
    vs_server_options_init(&o);
    long long port, body, upload, threads, conns, perip, idle;
    if ((rc = cli_opt_int(&a, "port", 0, 65535, VS_SERVER_PORT_DEFAULT, &port)) ||
        (rc = cli_opt_int(&a, "max-body-mb", 1, (long long)(VS_SERVER_BODY_MAX >> 20), VS_SERVER_BODY_DEFAULT >> 20, &body)) ||
        (rc = cli_opt_int(&a, "max-upload-mb", 1, 1LL << 30, (long long)(VS_SERVER_UPLOAD_DEFAULT >> 20), &upload)) ||
        (rc = cli_opt_int(&a, "threads", 0, VS_SERVER_THREADS_MAX, 0, &threads)) ||
        (rc = cli_opt_int(&a, "max-connections", 1, 1000000, VS_SERVER_CONNECTIONS_DEFAULT, &conns)) ||
        (rc = cli_opt_int(&a, "per-ip-connections", 0, 1000000, 0, &perip)) ||
        (rc = cli_opt_int(&a, "idle-timeout", 1, 86400, VS_SERVER_IDLE_TIMEOUT_DEFAULT, &idle)))
        goto done;
    if (cli_opt(&a, "host")) o.host = cli_opt(&a, "host");
    o.port = (uint16_t)port;
    o.max_body_bytes = (uint64_t)body << 20;
    o.max_upload_bytes = (uint64_t)upload << 20;
    o.threads = (uint32_t)threads;
    o.max_connections = (uint32_t)conns;
    o.per_ip_connections = (uint32_t)perip;
    o.idle_timeout_s = (uint32_t)idle;
    o.api_key = cli_opt(&a, "api-key") ? cli_opt(&a, "api-key") : getenv("VECSTORE_API_KEY");
    o.read_only_key = cli_opt(&a, "read-only-key") ? cli_opt(&a, "read-only-key") : getenv("VECSTORE_READ_ONLY_KEY");
    o.tls_cert_file = cli_opt(&a, "tls-cert");
    o.tls_key_file = cli_opt(&a, "tls-key");
    o.snapshots_dir = cli_opt(&a, "snapshots");
    o.quiet = !cli_has(&a, "log");
    if (!!o.tls_cert_file != !!o.tls_key_file) {
        rc = cli_usage("--tls-cert and --tls-key go together");
        goto done;
    }
    if (o.read_only_key && !o.api_key) {
        rc = cli_usage("--read-only-key needs --api-key too (else anyone could write)");
        goto done;
    }
    if ((rc = cli_open_store(&a, a.pos[0], CLI_OPEN_CREATE, &s))) goto done;
    /* Signals first, so one arriving during start-up is not lost. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    char msg[512];
    int vrc = vs_server_start(s, &o, &srv, msg, sizeof msg);
    if (vrc) {
        rc = vrc == VS_EINVAL ? cli_usage("%s", msg) : cli_fail("%s", msg);
        goto done;
    }
    fprintf(stderr, "vecstore: serving %s on %s://%s:%u%s\n", a.pos[0], o.tls_cert_file ? "https" : "http",
            o.host, vs_server_port(srv), o.api_key ? " (api key required)" : "");
    /* Machine-readable line for scripts and tests that asked for port 0. */
    printf("listening %u\n", vs_server_port(srv));
    fflush(stdout);
    while (!g_stop) pause();
    fprintf(stderr, "vecstore: stopping: finishing requests, syncing the WAL\n");
    vs_server_stop(srv);
    srv = NULL;
    rc = CLI_OK;
done:
    vs_server_stop(srv);
    vs_store_close(s);
    if (!rc && !a.help) fprintf(stderr, "vecstore: stopped\n");
    cli_args_free(&a);
    return rc;
}
