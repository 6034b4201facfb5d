/*
 * cli.c — the plumbing every command shares: argv parsing, argument validation, error
 * reporting and opening stores and collections (contract in cli.h).
 *
 * Argument parsing is table driven rather than getopt_long because commands mix
 * positionals and options freely ("vecstore get S C 1 2 --with-vector 3"), because a
 * repeatable option (--vector NAME:DIM:METRIC) must keep every value, and because each
 * error has to name the command it belongs to. Values are never copied: cli_args points
 * into argv, which lives as long as the process.
 *
 * Validation happens here, before a store is opened, wherever the answer does not depend
 * on the store (numbers, ids, JSON syntax, formats): a usage error then exits 2 without
 * having taken the store's write lock or created anything. What depends on the store
 * (dimensions, field names, filter semantics) is checked after opening and exits 1.
 */
#include "cli.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *cli_cmdname = "vecstore";
const char *cli_global_format;
const char *cli_global_fsync;

/* ------------------------------------------------------------ memory ---- */

static void oom(void) {
    fprintf(stderr, "vecstore: %s: out of memory\n", cli_cmdname);
    exit(CLI_ERR);
}

void *cli_xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) oom();
    return p;
}

void *cli_xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) oom();
    return p;
}

void *cli_xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) oom();
    return q;
}

char *cli_xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = cli_xmalloc(n);
    memcpy(d, s, n);
    return d;
}

/* ------------------------------------------------------------ errors ---- */

static void vmsg(const char *fmt, va_list ap) {
    fprintf(stderr, "vecstore: %s: ", cli_cmdname);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int cli_usage(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vmsg(fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try 'vecstore %s --help'.\n", cli_cmdname);
    return CLI_USAGE;
}

int cli_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vmsg(fmt, ap);
    va_end(ap);
    return CLI_ERR;
}

void cli_note(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vmsg(fmt, ap);
    va_end(ap);
}

static const char *pick_msg(const char *msg, int rc) {
    return (msg && *msg) ? msg : vs_errstr(rc);
}

int cli_fail_store(vs_store *s, int rc) {
    return cli_fail("%s", pick_msg(s ? vs_store_errmsg(s) : NULL, rc));
}

int cli_fail_coll(vs_coll *c, int rc) {
    return cli_fail("%s", pick_msg(c ? vs_coll_errmsg(c) : NULL, rc));
}

/* ------------------------------------------------------------ argv ------ */

static const cli_optspec *find_long(const cli_optspec *specs, const char *name, size_t len) {
    for (const cli_optspec *o = specs; o->name; o++)
        if (strlen(o->name) == len && !memcmp(o->name, name, len)) return o;
    return NULL;
}

static const cli_optspec *find_short(const cli_optspec *specs, char c) {
    for (const cli_optspec *o = specs; o->name; o++)
        if (o->shortname && o->shortname == c) return o;
    return NULL;
}

int cli_parse(cli_args *a, int argc, char **argv, const cli_optspec *specs, const char *help) {
    memset(a, 0, sizeof *a);
    a->pos = cli_xcalloc((size_t)argc, sizeof *a->pos);
    a->seen = cli_xcalloc((size_t)argc, sizeof *a->seen);
    int only_pos = 0;
    for (int i = 1; i < argc; i++) {
        char *arg = argv[i];
        if (only_pos || arg[0] != '-' || arg[1] == 0) {
            a->pos[a->npos++] = arg;
            continue;
        }
        if (!strcmp(arg, "--")) {
            only_pos = 1;
            continue;
        }
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            a->help = 1;
            continue;
        }
        const cli_optspec *o;
        const char *value = NULL;
        if (arg[1] == '-') {
            const char *name = arg + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            o = find_long(specs, name, len);
            if (!o) return cli_usage("unknown option '--%.*s'", (int)len, name);
            if (eq) {
                if (o->kind == OPT_FLAG)
                    return cli_usage("option '--%s' takes no value", o->name);
                value = eq + 1;
            }
        } else {
            /* "-k5" and "-k 5"; a lone negative number is a positional (an id never is,
             * but "-k -1" must reach the range check below, and a coordinate such as
             * "-33.87,151.21" is one). */
            o = find_short(specs, arg[1]);
            if (!o && ((arg[1] >= '0' && arg[1] <= '9') || arg[1] == '.')) {
                a->pos[a->npos++] = arg;
                continue;
            }
            if (!o) return cli_usage("unknown option '%s'", arg);
            if (arg[2]) {
                if (o->kind == OPT_FLAG)
                    return cli_usage("option '-%c' takes no value", o->shortname);
                value = arg + 2;
            }
        }
        if (o->kind != OPT_FLAG && !value) {
            if (i + 1 >= argc) return cli_usage("option '--%s' needs a value", o->name);
            value = argv[++i];
        }
        a->seen[a->nseen].spec = o;
        a->seen[a->nseen].value = o->kind == OPT_FLAG ? "" : value;
        a->nseen++;
    }
    if (a->help) fputs(help, stdout);
    return CLI_OK;
}

void cli_args_free(cli_args *a) {
    free(a->pos);
    free(a->seen);
    memset(a, 0, sizeof *a);
}

const char *cli_opt(const cli_args *a, const char *name) {
    const char *v = NULL;
    for (int i = 0; i < a->nseen; i++)
        if (!strcmp(a->seen[i].spec->name, name)) v = a->seen[i].value;
    return v;
}

int cli_has(const cli_args *a, const char *name) { return cli_opt(a, name) != NULL; }

const char **cli_opt_all(const cli_args *a, const char *name, size_t *n) {
    const char **v = cli_xcalloc((size_t)a->nseen + 1, sizeof *v);
    *n = 0;
    for (int i = 0; i < a->nseen; i++)
        if (!strcmp(a->seen[i].spec->name, name)) v[(*n)++] = a->seen[i].value;
    return v;
}

int cli_need_pos(const cli_args *a, int min, int max, const char *what) {
    if (a->npos < min) return cli_usage("missing arguments: expected %s", what);
    if (max >= 0 && a->npos > max)
        return cli_usage("unexpected argument '%s' (expected %s)", a->pos[max], what);
    return CLI_OK;
}

/* ------------------------------------------------------------ values ---- */

int cli_parse_u64(const char *s, size_t len, uint64_t *out) {
    if (len == 0 || len > 20) return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int cli_opt_int(const cli_args *a, const char *opt, long long min, long long max,
                long long deflt, long long *out) {
    const char *s = cli_opt(a, opt);
    if (!s) {
        *out = deflt;
        return CLI_OK;
    }
    const char *p = s + (*s == '-');
    int digits = *p != 0;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9') digits = 0;
    if (!digits) return cli_usage("--%s: expected an integer, got '%s'", opt, s);
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno == ERANGE || v < min || v > max)
        return cli_usage("--%s must be between %lld and %lld, got %s", opt, min, max, s);
    *out = v;
    return CLI_OK;
}

/* strtod over the whole text: 0 and *out set when s is one finite number, else -1. */
static int parse_double(const char *s, double *out) {
    while (*s == ' ' || *s == '\t') s++;
    if (!*s) return -1;
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    while (*end == ' ' || *end == '\t') end++;
    if (*end || !isfinite(d)) return -1;
    *out = d;
    return 0;
}

int cli_opt_double(const cli_args *a, const char *opt, double deflt, double *out) {
    const char *s = cli_opt(a, opt);
    if (!s) {
        *out = deflt;
        return CLI_OK;
    }
    if (parse_double(s, out)) return cli_usage("--%s: expected a number, got '%s'", opt, s);
    return CLI_OK;
}

int cli_parse_latlon(const char *what, const char *s, double *lat, double *lon) {
    const char *comma = strchr(s, ',');
    char buf[128];
    size_t n = comma ? (size_t)(comma - s) : 0;
    if (!comma || n >= sizeof buf || strchr(comma + 1, ','))
        return cli_usage("%s: expected LAT,LON in degrees, got '%s'", what, s);
    memcpy(buf, s, n);
    buf[n] = 0;
    if (parse_double(buf, lat) || parse_double(comma + 1, lon))
        return cli_usage("%s: expected LAT,LON in degrees, got '%s'", what, s);
    /* the ranges of vs_geo_distance, checked here so that the store is not touched */
    if (*lat < -90 || *lat > 90)
        return cli_usage("%s: latitude %g is outside -90..90 (expected LAT,LON)", what, *lat);
    if (*lon < -180 || *lon > 180)
        return cli_usage("%s: longitude %g is outside -180..180 (expected LAT,LON)", what, *lon);
    return CLI_OK;
}

int cli_parse_id(const char *s, int force_str, vs_id *out) {
    size_t len = strlen(s);
    int digits = len > 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9') digits = 0;
    if (digits && !force_str) {
        uint64_t v;
        if (cli_parse_u64(s, len, &v))
            return cli_usage("id %s does not fit in 64 bits (use --str for a string id)", s);
        *out = vs_id_num(v);
        return CLI_OK;
    }
    if (len == 0) return cli_usage("empty id");
    if (len > VS_ID_STR_MAX)
        return cli_usage("string id of %zu bytes is longer than %d", len, VS_ID_STR_MAX);
    out->kind = VS_ID_STR;
    out->num = 0;
    out->str = s;
    out->len = (uint32_t)len;
    return CLI_OK;
}

int cli_parse_ids(const cli_args *a, int first, vs_id **ids, size_t *n) {
    size_t cnt = a->npos > first ? (size_t)(a->npos - first) : 0;
    if (cnt > VS_BATCH_MAX) return cli_usage("too many ids: %zu (at most %d)", cnt, VS_BATCH_MAX);
    vs_id *v = cli_xcalloc(cnt, sizeof *v);
    int force = cli_has(a, "str");
    for (size_t i = 0; i < cnt; i++) {
        int rc = cli_parse_id(a->pos[(size_t)first + i], force, &v[i]);
        if (rc) {
            free(v);
            return rc;
        }
    }
    *ids = v;
    *n = cnt;
    return CLI_OK;
}

int cli_check_json(const char *opt, const char *text, int want_object) {
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithOpts(text, &end, 1);
    if (!j) {
        const char *at = cJSON_GetErrorPtr();
        long col = at && at >= text ? (long)(at - text) + 1 : 0;
        return cli_usage("--%s: invalid JSON at column %ld", opt, col);
    }
    int ok = !want_object || cJSON_IsObject(j);
    cJSON_Delete(j);
    if (!ok) return cli_usage("--%s: expected a JSON object", opt);
    return CLI_OK;
}

/* --filter JSON (checked here, so a typo is a usage error) or --where TEXT (the text
 * syntax, which the library parses and reports with the byte position). */
int cli_opt_filter(const cli_args *a, const char **filter) {
    const char *json = cli_opt(a, "filter"), *where = cli_opt(a, "where");
    if (json && where) return cli_usage("--filter and --where cannot be combined");
    *filter = json ? json : where;
    if (where) {
        const char *p = where;
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
        if (!*p) return cli_usage("--where: empty filter");
        if (*p == '{') return cli_usage("--where takes the text syntax; use --filter for JSON");
        return CLI_OK;
    }
    return json ? cli_check_json("filter", json, 1) : CLI_OK;
}

int cli_parse_vector(const char *opt, const char *text, float **v, uint32_t *dim) {
    cJSON *j = cJSON_ParseWithOpts(text, NULL, 1);
    if (!j || !cJSON_IsArray(j)) {
        cJSON_Delete(j);
        return cli_usage("--%s: expected a JSON array of numbers", opt);
    }
    int n = cJSON_GetArraySize(j);
    if (n < VS_DIM_MIN || n > VS_DIM_MAX) {
        cJSON_Delete(j);
        return cli_usage("--%s: a vector has %d to %d numbers, got %d", opt, VS_DIM_MIN,
                         VS_DIM_MAX, n);
    }
    float *f = cli_xmalloc((size_t)n * sizeof *f);
    int i = 0;
    for (cJSON *e = j->child; e; e = e->next, i++) {
        float x = cJSON_IsNumber(e) ? (float)e->valuedouble : NAN;
        if (!cJSON_IsNumber(e) || !isfinite(x)) {
            cJSON_Delete(j);
            free(f);
            return cli_usage("--%s: element %d is not a finite float32 number", opt, i);
        }
        f[i] = x;
    }
    cJSON_Delete(j);
    *v = f;
    *dim = (uint32_t)n;
    return CLI_OK;
}

int cli_with(const cli_args *a) {
    return (cli_has(a, "no-payload") ? 0 : VS_WITH_PAYLOAD) |
           (cli_has(a, "with-vector") ? VS_WITH_VECTOR : 0);
}

static const char *const fmt_names[] = {"table", "json", "jsonl", "csv"};

int cli_get_format(const cli_args *a, int deflt, unsigned allowed, int *fmt) {
    const char *s = cli_opt(a, "format");
    if (!s) s = cli_global_format;
    if (!s) {
        *fmt = deflt;
        return CLI_OK;
    }
    for (int f = 0; f < 4; f++) {
        if (strcmp(s, fmt_names[f])) continue;
        if (!(allowed & FMT_BIT(f)))
            return cli_usage("--format %s is not available for this command", s);
        *fmt = f;
        return CLI_OK;
    }
    return cli_usage("--format: expected table, json, jsonl or csv, got '%s'", s);
}

/* ------------------------------------------------------------ stores ---- */

int cli_open_store(const cli_args *a, const char *path, int mode, vs_store **out) {
    vs_store_options opt;
    vs_store_options_init(&opt);
    opt.read_only = mode == CLI_OPEN_READ;
    opt.create_if_missing = mode == CLI_OPEN_CREATE;
    const char *fs = cli_opt(a, "fsync");
    if (!fs) fs = cli_global_fsync;
    if (fs && mode != CLI_OPEN_READ) {
        if (!strcmp(fs, "always"))
            opt.fsync = VS_FSYNC_ALWAYS;
        else if (!strcmp(fs, "batch"))
            opt.fsync = VS_FSYNC_BATCH;
        else if (!strcmp(fs, "off"))
            opt.fsync = VS_FSYNC_OFF;
        else
            return cli_usage("--fsync: expected always, batch or off, got '%s'", fs);
    }
    char msg[512] = "";
    *out = NULL;
    int rc = vs_store_open(path, &opt, out, msg, sizeof msg);
    if (rc) {
        *out = NULL;
        const char *m = pick_msg(msg, rc);
        /* The library's messages usually name the path already. */
        if (strstr(m, path)) return cli_fail("%s", m);
        return cli_fail("%s: %s", path, m);
    }
    return CLI_OK;
}

int cli_open_coll(vs_store *s, const char *name, vs_coll **out) {
    *out = NULL;
    int rc = vs_coll_open(s, name, out);
    if (rc) {
        *out = NULL;
        const char *msg = pick_msg(vs_store_errmsg(s), rc);
        /* Make sure the user sees which collection failed to open. */
        if (strstr(msg, name)) return cli_fail("%s", msg);
        return cli_fail("collection '%s': %s", name, msg);
    }
    return CLI_OK;
}

int cli_open_both(const cli_args *a, int mode, vs_store **s, vs_coll **c, vs_coll_info *in) {
    int rc = cli_open_store(a, a->pos[0], mode, s);
    if (rc) return rc;
    if ((rc = cli_open_coll(*s, a->pos[1], c))) return rc;
    if (in) {
        int vrc = vs_coll_info_get(*c, in);
        if (vrc) return cli_fail_coll(*c, vrc);
    }
    return CLI_OK;
}

int cli_find_field(const vs_coll_info *info, const char *name, uint32_t *fi) {
    if (!name) {
        if (info->n_fields == 1) {
            *fi = 0;
            return CLI_OK;
        }
        for (uint32_t i = 0; i < info->n_fields; i++)
            if (!info->fields[i].name[0]) {
                *fi = i;
                return CLI_OK;
            }
        return cli_fail("the collection has %u vector fields; choose one with --field",
                        info->n_fields);
    }
    for (uint32_t i = 0; i < info->n_fields; i++)
        if (!strcmp(info->fields[i].name, name)) {
            *fi = i;
            return CLI_OK;
        }
    char list[VS_FIELDS_MAX * (VS_NAME_MAX + 4)] = "";
    size_t len = 0;
    for (uint32_t i = 0; i < info->n_fields; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s'%s'", i ? ", " : "",
                                info->fields[i].name);
    return cli_fail("no vector field '%s' in the collection (fields: %s)", name, list);
}

/* ------------------------------------------------------------ misc ------ */

int cli_finish_stdout(int rc) {
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (rc == CLI_OK) rc = cli_fail("writing to standard output: %s", strerror(errno));
    }
    return rc;
}

double cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
