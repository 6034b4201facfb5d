/*
 * cmd_admin.c — commands that manage stores and collections rather than points:
 * create, list, info, drop, flush, compact, snapshot, restore, check.
 *
 * Read commands (list, info, check) open the store read-only, so they work while another
 * process holds the store for writing and can never modify it. Write commands open it
 * writable without creating it, except create and restore, which create a missing store:
 * a typo in a path given to `drop` or `flush` then fails instead of leaving an empty
 * store behind.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "output.h"

/* Checks a collection name against the rule in vecstore.h before touching the store. */
static int check_coll_name(const char *name) {
    size_t n = strlen(name);
    if (n == 0 || n > VS_NAME_MAX)
        return cli_usage("collection name must be 1 to %d bytes, got %zu", VS_NAME_MAX, n);
    if (name[0] == '.') return cli_usage("collection name '%s' may not start with '.'", name);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return cli_usage("collection name '%s' may only hold letters, digits, '_', '.' "
                             "and '-'", name);
    }
    return CLI_OK;
}

static const char *dtype_name(int d) { return d == VS_DTYPE_F32 ? "f32" : "?"; }
static const char *index_name(int k) {
    return k == VS_INDEX_FLAT ? "flat" : k == VS_INDEX_HNSW ? "hnsw" : "?";
}
static const char *quant_name(int q) {
    static const char *const names[] = {"none", "int8", "pq", "binary"};
    return q >= 0 && q < 4 ? names[q] : "?";
}

/* "4 cosine" for a lone unnamed field, else "name:dim:metric,..." */
static void fields_text(const vs_coll_info *info, txt_buf *b) {
    if (info->n_fields == 1 && !info->fields[0].name[0]) {
        txt_printf(b, "%u %s", info->fields[0].dim, vs_metric_name(info->fields[0].metric));
        return;
    }
    for (uint32_t i = 0; i < info->n_fields; i++)
        txt_printf(b, "%s%s:%u:%s", i ? "," : "", info->fields[i].name, info->fields[i].dim,
                   vs_metric_name(info->fields[i].metric));
}

static void info_json(FILE *f, const char *name, const vs_coll_info *in) {
    fputs("{\"name\":", f);
    txt_fjson_str(f, name, strlen(name));
    fprintf(f,
            ",\"points\":%" PRIu64 ",\"deleted\":%" PRIu64 ",\"segments\":%" PRIu32
            ",\"mutable_points\":%" PRIu64 ",\"mutable_indexed\":%" PRIu64
            ",\"last_lsn\":%" PRIu64 ",\"checkpoint_lsn\":%" PRIu64
            ",\"wal_bytes\":%" PRIu64 ",\"disk_bytes\":%" PRIu64 ",\"memory_bytes\":%" PRIu64
            ",\"indexed_segments\":%" PRIu32 ",\"pending_segments\":%" PRIu32
            ",\"index_bytes\":%" PRIu64 ",\"fields\":[",
            in->points, in->deleted, in->segments, in->mutable_points, in->mutable_indexed,
            in->last_lsn,
            in->checkpoint_lsn, in->wal_bytes, in->disk_bytes, in->memory_bytes,
            in->indexed_segments, in->pending_segments, in->index_bytes);
    for (uint32_t i = 0; i < in->n_fields; i++) {
        const vs_field_info *fi = &in->fields[i];
        fprintf(f, "%s{\"name\":", i ? "," : "");
        txt_fjson_str(f, fi->name, strlen(fi->name));
        fprintf(f, ",\"dim\":%u,\"metric\":\"%s\",\"dtype\":\"%s\",\"index\":\"%s\"", fi->dim,
                vs_metric_name(fi->metric), dtype_name(fi->dtype), index_name(fi->index));
        if (fi->index == VS_INDEX_HNSW)
            fprintf(f, ",\"m\":%u,\"ef_construction\":%u,\"index_threshold\":%u", fi->hnsw_m,
                    fi->hnsw_ef_construction, fi->index_threshold);
        fprintf(f, ",\"quantization\":\"%s\"", quant_name(fi->quant));
        if (fi->quant == VS_QUANT_PQ) fprintf(f, ",\"pq_m\":%u", fi->pq_m);
        fputc('}', f);
    }
    fputs("]}", f);
}

/* ------------------------------------------------------------ create ---- */

static const char create_help[] =
    "usage: vecstore create STORE COLL --dim N [--metric cosine|l2|dot]\n"
    "       vecstore create STORE COLL --vector NAME:DIM[:METRIC] [--vector ...]\n"
    "\n"
    "Creates collection COLL in STORE (a directory, created if missing).\n"
    "\n"
    "  --dim N                 one unnamed vector field of N dimensions (1..65536)\n"
    "  --metric M              its metric: cosine (default), l2 or dot\n"
    "  --vector NAME:DIM[:M]   a named vector field (repeatable, up to 16 fields);\n"
    "                          may be combined with --dim\n"
    "  --index flat|hnsw       index of every vector field (default flat = exact search)\n"
    "  --m N                   HNSW links per node (default 16, 2..128)\n"
    "  --ef-construction N     HNSW build beam width (default 200, 8..4096)\n"
    "  --index-threshold N     segments with fewer live points are searched exactly\n"
    "                          (default 10000)\n"
    "  --quantization Q        compress the HNSW index's vectors (needs --index hnsw):\n"
    "                          none (default), int8 (1 byte per dimension), pq:M\n"
    "                          (M bytes per vector, M divides the dimension) or binary\n"
    "                          (1 bit per dimension; cosine and dot); queries rescore\n"
    "                          with the original vectors\n"
    "  --fsync P               always (default), batch or off\n";

static const cli_optspec create_opts[] = {{"dim", 0, OPT_VALUE},
                                          {"metric", 0, OPT_VALUE},
                                          {"index", 0, OPT_VALUE},
                                          {"m", 0, OPT_VALUE},
                                          {"ef-construction", 0, OPT_VALUE},
                                          {"index-threshold", 0, OPT_VALUE},
                                          {"quantization", 0, OPT_VALUE},
                                          {"vector", 0, OPT_MULTI},
                                          {"fsync", 0, OPT_VALUE},
                                          {NULL, 0, 0}};

typedef struct field_spec {
    char name[VS_NAME_MAX + 1];
    uint32_t dim;
    int metric;
} field_spec;

static int parse_metric(const char *s, int *out) {
    int m = vs_metric_parse(s);
    if (m < 0) return cli_usage("unknown metric '%s' (cosine, l2 or dot)", s);
    *out = m;
    return CLI_OK;
}

static int parse_field_spec(const char *s, field_spec *fs) {
    const char *c1 = strchr(s, ':');
    if (!c1) return cli_usage("--vector: expected NAME:DIM[:METRIC], got '%s'", s);
    size_t nl = (size_t)(c1 - s);
    if (nl == 0 || nl > VS_NAME_MAX)
        return cli_usage("--vector: field name must be 1 to %d bytes", VS_NAME_MAX);
    memcpy(fs->name, s, nl);
    fs->name[nl] = 0;
    const char *c2 = strchr(c1 + 1, ':');
    size_t dl = c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1);
    uint64_t dim;
    if (cli_parse_u64(c1 + 1, dl, &dim) || dim < VS_DIM_MIN || dim > VS_DIM_MAX)
        return cli_usage("--vector %s: dimension must be an integer from %d to %d", s,
                         VS_DIM_MIN, VS_DIM_MAX);
    fs->dim = (uint32_t)dim;
    fs->metric = VS_METRIC_COSINE;
    if (c2) return parse_metric(c2 + 1, &fs->metric);
    return CLI_OK;
}

int cmd_create(int argc, char **argv) {
    cli_args a;
    vs_store *s = NULL;
    vs_schema *sc = NULL;
    const char **vecs = NULL;
    field_spec fs[VS_FIELDS_MAX + 1];
    size_t nf = 0, nv = 0;
    int rc = cli_parse(&a, argc, argv, create_opts, create_help);
    if (rc || a.help) goto done;
    if ((rc = cli_need_pos(&a, 2, 2, "STORE COLL"))) goto done;
    if ((rc = check_coll_name(a.pos[1]))) goto done;
    vecs = cli_opt_all(&a, "vector", &nv);
    if (!cli_has(&a, "dim") && nv == 0) {
        rc = cli_usage("give the vector dimension with --dim N or --vector NAME:DIM[:METRIC]");
        goto done;
    }
    if (cli_has(&a, "metric") && !cli_has(&a, "dim")) {
        rc = cli_usage("--metric applies to --dim; give a named field's metric in --vector");
        goto done;
    }
    if (cli_has(&a, "dim")) {
        long long dim;
        if ((rc = cli_opt_int(&a, "dim", VS_DIM_MIN, VS_DIM_MAX, 0, &dim))) goto done;
        fs[0].name[0] = 0;
        fs[0].dim = (uint32_t)dim;
        fs[0].metric = VS_METRIC_COSINE;
        if (cli_has(&a, "metric") && (rc = parse_metric(cli_opt(&a, "metric"), &fs[0].metric)))
            goto done;
        nf = 1;
    }
    if (nf + nv > VS_FIELDS_MAX) {
        rc = cli_usage("at most %d vector fields, got %zu", VS_FIELDS_MAX, nf + nv);
        goto done;
    }
    for (size_t i = 0; i < nv; i++) {
        if ((rc = parse_field_spec(vecs[i], &fs[nf]))) goto done;
        for (size_t k = 0; k < nf; k++)
            if (!strcmp(fs[k].name, fs[nf].name)) {
                rc = cli_usage("--vector: field '%s' given twice", fs[nf].name);
                goto done;
            }
        nf++;
    }
    /* Index options apply to every field. */
    int hnsw = 0, quant = VS_QUANT_NONE;
    long long m = 0, efc = 0, thr = 0, pq_m = 0;
    const char *ix = cli_opt(&a, "index");
    if (ix && !strcmp(ix, "hnsw"))
        hnsw = 1;
    else if (ix && strcmp(ix, "flat")) {
        rc = cli_usage("--index: expected flat or hnsw, got '%s'", ix);
        goto done;
    }
    if ((cli_has(&a, "m") || cli_has(&a, "ef-construction") || cli_has(&a, "index-threshold")) && !hnsw) {
        rc = cli_usage("--m, --ef-construction and --index-threshold need --index hnsw");
        goto done;
    }
    if ((cli_has(&a, "m") &&
         (rc = cli_opt_int(&a, "m", VS_HNSW_M_MIN, VS_HNSW_M_MAX, 0, &m))) ||
        (cli_has(&a, "ef-construction") &&
         (rc = cli_opt_int(&a, "ef-construction", VS_HNSW_EF_CONSTRUCTION_MIN,
                           VS_HNSW_EF_CONSTRUCTION_MAX, 0, &efc))) ||
        (cli_has(&a, "index-threshold") &&
         (rc = cli_opt_int(&a, "index-threshold", 1, VS_INDEX_THRESHOLD_MAX, 0, &thr))))
        goto done;
    const char *qz = cli_opt(&a, "quantization");
    if (qz) {
        if (!strcmp(qz, "none"))
            quant = VS_QUANT_NONE;
        else if (!strcmp(qz, "int8"))
            quant = VS_QUANT_INT8;
        else if (!strcmp(qz, "binary"))
            quant = VS_QUANT_BINARY;
        else if (!strncmp(qz, "pq:", 3)) {
            char *end;
            pq_m = strtoll(qz + 3, &end, 10);
            if (*end || pq_m < 1 || pq_m > VS_DIM_MAX) {
                rc = cli_usage("--quantization pq:M: M must be a positive integer, got '%s'", qz + 3);
                goto done;
            }
            quant = VS_QUANT_PQ;
        } else {
            rc = cli_usage("--quantization: expected none, int8, pq:M or binary, got '%s'", qz);
            goto done;
        }
        if (quant != VS_QUANT_NONE && !hnsw) {
            rc = cli_usage("--quantization %s needs --index hnsw", qz);
            goto done;
        }
    }
    if ((rc = cli_open_store(&a, a.pos[0], CLI_OPEN_CREATE, &s))) goto done;
    int vrc = vs_schema_new(&sc);
    for (size_t i = 0; vrc == VS_OK && i < nf; i++) {
        vrc = vs_schema_add_vector(sc, fs[i].name, fs[i].dim, fs[i].metric);
        if (!vrc && hnsw)
            vrc = vs_schema_set_hnsw(sc, fs[i].name, (uint32_t)m, (uint32_t)efc, (uint32_t)thr);
        if (!vrc && quant != VS_QUANT_NONE) {
            vrc = vs_schema_set_quantization(sc, fs[i].name, quant, (uint32_t)pq_m);
            if (vrc == VS_EINVAL) {
                if (quant == VS_QUANT_PQ)
                    rc = cli_usage("--quantization pq:%lld: the dimension %u must be a multiple of M",
                                   pq_m, fs[i].dim);
                else
                    rc = cli_usage("--quantization binary needs metric cosine or dot, not %s",
                                   vs_metric_name(fs[i].metric));
                goto done;
            }
        }
    }
    if (vrc) {
        rc = cli_fail("invalid schema: %s", vs_errstr(vrc));
        goto done;
    }
    vrc = vs_coll_create(s, a.pos[1], sc);
    if (vrc) {
        rc = cli_fail_store(s, vrc);
        goto done;
    }
    txt_buf b = {0};
    for (size_t i = 0; i < nf; i++)
        txt_printf(&b, "%s%s%s%u dimensions, %s", i ? "; " : "", fs[i].name,
                   fs[i].name[0] ? ": " : "", fs[i].dim, vs_metric_name(fs[i].metric));
    fprintf(stderr, "created collection '%s' (%s) in %s\n", a.pos[1], txt_cstr(&b), a.pos[0]);
    txt_free(&b);
done:
    vs_schema_free(sc);
    vs_store_close(s);
    free(vecs);
    cli_args_free(&a);
    return rc;
}

/* ------------------------------------------------------------ list ------ */

static const char list_help[] =
    "usage: vecstore list STORE [--format table|json|jsonl|csv]\n"
    "\n"
    "Prints the names of the collections in STORE, one per line (table, the default),\n"
    "as a JSON array (json), one JSON string per line (jsonl) or a CSV column.\n"
    "Opens the store read-only.\n";

static const cli_optspec read_opts[] = {{"format", 0, OPT_VALUE}, {"read-only", 0, OPT_FLAG},
                                        {NULL, 0, 0}};

int cmd_list(int argc, char **argv) {
    cli_args a;
    vs_store *s = NULL;
    char **names = NULL;
    size_t n = 0;
    int fmt;
    int rc = cli_parse(&a, argc, argv, read_opts, list_help);
    if (rc || a.help) goto done;
    if ((rc = cli_need_pos(&a, 1, 1, "STORE"))) goto done;
    if ((rc = cli_get_format(&a, FMT_TABLE, 0xF, &fmt))) goto done;
    if ((rc = cli_open_store(&a, a.pos[0], CLI_OPEN_READ, &s))) goto done;
    int vrc = vs_store_list(s, &names, &n);
    if (vrc) {
        names = NULL;
        rc = cli_fail_store(s, vrc);
        goto done;
    }
    if (fmt == FMT_JSON) fputc('[', stdout);
    if (fmt == FMT_CSV) puts("name");
    for (size_t i = 0; i < n; i++) {
        switch (fmt) {
        case FMT_JSON:
            if (i) fputc(',', stdout);
            txt_fjson_str(stdout, names[i], strlen(names[i]));
            break;
        case FMT_JSONL:
            txt_fjson_str(stdout, names[i], strlen(names[i]));
            fputc('\n', stdout);
            break;
        case FMT_CSV:
            out_csv_cell(stdout, names[i], strlen(names[i]));
            fputc('\n', stdout);
            break;
        default: puts(names[i]); break;
        }
    }
    if (fmt == FMT_JSON) puts("]");
done:
    if (names) vs_strlist_free(names, n);
    vs_store_close(s);
    cli_args_free(&a);
    return cli_finish_stdout(rc);
}

/* ------------------------------------------------------------ info ------ */

static const char info_help[] =
    "usage: vecstore info STORE [COLL] [--format table|json|jsonl]\n"
    "\n"
    "Without COLL: the collections of STORE with their point counts and vector fields.\n"
    "With COLL: everything vs_coll_info reports: live and deleted points, sealed\n"
    "segments, points in the mutable segment, last and checkpoint WAL sequence numbers,\n"
    "WAL, disk and memory bytes, and every vector field (name, dim, metric, dtype,\n"
    "index). json prints one pretty object, jsonl the same object on one line.\n"
    "Opens the store read-only.\n";

/* Opens collection name just long enough to read its info into *in; prints the error. */
static int read_coll_info(vs_store *s, const char *name, vs_coll_info *in) {
    vs_coll *c = NULL;
    int rc = cli_open_coll(s, name, &c);
    if (rc) return rc;
    int vrc = vs_coll_info_get(c, in);
    if (vrc) rc = cli_fail_coll(c, vrc);
    vs_coll_close(c);
    return rc;
}

static int info_store(vs_store *s, const char *path, int fmt) {
    char **names = NULL;
    size_t n = 0;
    int vrc = vs_store_list(s, &names, &n);
    if (vrc) return cli_fail_store(s, vrc);
    int rc = CLI_OK;
    out_table t;
    tbl_init(&t, 5);
    const char *hdr[] = {"collection", "points", "deleted", "fields", "disk_bytes"};
    tbl_row(&t, hdr);
    if (fmt != FMT_TABLE) {
        fputs("{\"store\":", stdout);
        txt_fjson_str(stdout, path, strlen(path));
        fprintf(stdout, ",\"version\":\"%s\",\"simd\":\"%s\",\"collections\":[", vs_version(),
                vs_simd_name());
    }
    for (size_t i = 0; i < n; i++) {
        vs_coll_info in;
        if ((rc = read_coll_info(s, names[i], &in))) break;
        if (fmt == FMT_TABLE) {
            txt_buf b[4] = {{0}};
            txt_printf(&b[0], "%" PRIu64, in.points);
            txt_printf(&b[1], "%" PRIu64, in.deleted);
            fields_text(&in, &b[2]);
            txt_printf(&b[3], "%" PRIu64, in.disk_bytes);
            const char *row[] = {names[i], b[0].p, b[1].p, b[2].p, b[3].p};
            tbl_row(&t, row);
            for (int k = 0; k < 4; k++) txt_free(&b[k]);
        } else {
            if (fmt == FMT_JSON) fputs(i ? ",\n  " : "\n  ", stdout);
            else if (i) fputc(',', stdout);
            info_json(stdout, names[i], &in);
        }
    }
    if (rc == CLI_OK) {
        if (fmt == FMT_TABLE)
            tbl_print(&t, stdout);
        else
            fputs(fmt == FMT_JSON && n ? "\n]}\n" : "]}\n", stdout);
    }
    tbl_free(&t);
    vs_strlist_free(names, n);
    return rc;
}

static int info_coll(vs_store *s, const char *name, int fmt) {
    vs_coll_info in;
    int rc = read_coll_info(s, name, &in);
    if (rc) return rc;
    if (fmt != FMT_TABLE) {
        info_json(stdout, name, &in);
        fputc('\n', stdout);
        return CLI_OK;
    }
    static const char *const keys[] = {"points",           "deleted",          "segments",
                                       "mutable_points",   "mutable_indexed",  "last_lsn",
                                       "checkpoint_lsn",   "wal_bytes",        "disk_bytes",
                                       "memory_bytes",     "indexed_segments", "pending_segments",
                                       "index_bytes"};
    uint64_t vals[] = {in.points,          in.deleted,          in.segments,
                       in.mutable_points,  in.mutable_indexed,  in.last_lsn,
                       in.checkpoint_lsn,  in.wal_bytes,        in.disk_bytes,
                       in.memory_bytes,    in.indexed_segments, in.pending_segments,
                       in.index_bytes};
    out_table t;
    tbl_init(&t, 2);
    const char *first[] = {"collection", name};
    tbl_row(&t, first);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char v[32];
        snprintf(v, sizeof v, "%" PRIu64, vals[i]);
        const char *row[] = {keys[i], v};
        tbl_row(&t, row);
    }
    tbl_print(&t, stdout);
    tbl_free(&t);
    fputs("\nfields:\n", stdout);
    tbl_init(&t, 6);
    const char *hdr[] = {"  name", "dim", "metric", "dtype", "index", "quantization"};
    tbl_row(&t, hdr);
    for (uint32_t i = 0; i < in.n_fields; i++) {
        const vs_field_info *fi = &in.fields[i];
        char nm[VS_NAME_MAX + 8], dim[16];
        snprintf(nm, sizeof nm, "  %s", fi->name[0] ? fi->name : "(default)");
        snprintf(dim, sizeof dim, "%u", fi->dim);
        char ixd[64], qd[32];
        if (fi->index == VS_INDEX_HNSW)
            snprintf(ixd, sizeof ixd, "hnsw m=%u efc=%u", fi->hnsw_m, fi->hnsw_ef_construction);
        else
            snprintf(ixd, sizeof ixd, "%s", index_name(fi->index));
        if (fi->quant == VS_QUANT_PQ)
            snprintf(qd, sizeof qd, "pq:%u", fi->pq_m);
        else
            snprintf(qd, sizeof qd, "%s", quant_name(fi->quant));
        const char *row[] = {nm, dim, vs_metric_name(fi->metric), dtype_name(fi->dtype), ixd, qd};
        tbl_row(&t, row);
    }
    tbl_print(&t, stdout);
    tbl_free(&t);
    return CLI_OK;
}

int cmd_info(int argc, char **argv) {
    cli_args a;
    vs_store *s = NULL;
    int fmt;
    int rc = cli_parse(&a, argc, argv, read_opts, info_help);
    if (rc || a.help) goto done;
    if ((rc = cli_need_pos(&a, 1, 2, "STORE [COLL]"))) goto done;
    if ((rc = cli_get_format(&a, FMT_TABLE, FMT_BIT(FMT_TABLE) | FMT_BIT(FMT_JSON) |
                                                FMT_BIT(FMT_JSONL), &fmt)))
        goto done;
    if ((rc = cli_open_store(&a, a.pos[0], CLI_OPEN_READ, &s))) goto done;
    rc = a.npos == 2 ? info_coll(s, a.pos[1], fmt) : info_store(s, a.pos[0], fmt);
done:
    vs_store_close(s);
    cli_args_free(&a);
    return cli_finish_stdout(rc);
}

/* ------------------------------------------------ drop, flush, compact --- */

static const cli_optspec write_opts[] = {{"fsync", 0, OPT_VALUE}, {NULL, 0, 0}};

static const char drop_help[] =
    "usage: vecstore drop STORE COLL [--fsync P]\n"
    "\n"
    "Deletes collection COLL and all its points. There is no undo; take a snapshot first\n"
    "if in doubt.\n";

int cmd_drop(int argc, char **argv) {
    cli_args a;
    vs_store *s = NULL;
    int rc = cli_parse(&a, argc, argv, write_opts, drop_help);
    if (rc || a.help) goto done;
    if ((rc = cli_need_pos(&a, 2, 2, "STORE COLL"))) goto done;
    if ((rc = cli_open_store(&a, a.pos[0], CLI_OPEN_WRITE, &s))) goto done;
    int vrc = vs_store_drop(s, a.pos[1]);
    if (vrc) {
        rc = cli_fail_store(s, vrc);
        goto done;
    }
    fprintf(stderr, "dropped collection '%s'\n", a.pos[1]);
done:
    vs_store_close(s);
    cli_args_free(&a);
    return rc;
}

/* flush and compact: open the collection, run one maintenance call, report. */
static int coll_maintenance(int argc, char **argv, const char *help, int (*op)(vs_coll *),
                            const char *done_msg) {
    cli_args a;
    vs_store *s = NULL;
    vs_coll *c = NULL;
    int rc = cli_parse(&a, argc, argv, write_opts, help);
    if (rc || a.help) goto done;
    if ((rc = cli_need_pos(&a, 2, 2, "STORE COLL"))) goto done;
    if ((rc = cli_open_both(&a, CLI_OPEN_WRITE, &s, &c, NULL))) goto done;
    double t0 = cli_now();
    int vrc = op(c);
    /* A CLI process is short-lived: build the indexes the new segments need now, so the
     * next command finds them (a server builds them in the background instead). */
    double t1 = cli_now();
    if (!vrc) vrc = vs_coll_wait_indexed(c, -1);
    if (vrc) {
        rc = cli_fail_coll(c, vrc);
        goto done;
    }
    vs_coll_info in;
    if (vs_coll_info_get(c, &in) == VS_OK) {
        fprintf(stderr, "%s '%s' in %.2f s: %" PRIu64 " points, %u segments, %" PRIu64
                        " WAL bytes", done_msg, a.pos[1], t1 - t0, in.points,
                in.segments, in.wal_bytes);
        if (in.indexed_segments)
            fprintf(stderr, "; %u segments indexed (%.2f s), %" PRIu64 " index bytes",
                    in.indexed_segments, cli_now() - t1, in.index_bytes);
        fputc('\n', stderr);
    } else {
        fprintf(stderr, "%s '%s'\n", done_msg, a.pos[1]);
    }
done:
    vs_coll_close(c);
    vs_store_close(s);
    cli_args_free(&a);
    return rc;
}

static const char flush_help[] =
    "usage: vecstore flush STORE COLL [--fsync P]\n"
    "\n"
    "Seals the collection's mutable segment into an immutable one and checkpoints the\n"
    "WAL (vs_coll_flush), then builds the HNSW index of every sealed segment that needs\n"
    "one and has none yet.\n";

int cmd_flush(int argc, char **argv) {
    return coll_maintenance(argc, argv, flush_help, vs_coll_flush, "flushed");
}

static const char compact_help[] =
    "usage: vecstore compact STORE COLL [--fsync P]\n"
    "\n"
    "Merges the collection's sealed segments and purges deleted points\n"
    "(vs_coll_compact), then builds the HNSW index of the merged segment if it needs\n"
    "one. Readers are not blocked.\n";

int cmd_compact(int argc, char **argv) {
    return coll_maintenance(argc, argv, compact_help, vs_coll_compact, "compacted");
}

/* ------------------------------------------------ snapshot, restore ------ */

static const char snapshot_help[] =
    "usage: vecstore snapshot STORE COLL FILE [--fsync P]\n"
    "\n"
    "Writes a consistent snapshot of COLL to the archive FILE (written under a\n"
    "temporary name and renamed when complete; writes may go on meanwhile).\n";

int cmd_snapshot(int argc, char **argv) {
    cli_args a;
    vs_store *s = NULL;
    vs_coll *c = NULL;
    int rc = cli_parse(&a, argc, argv, write_opts, snapshot_help);
    if (rc || a.help) goto done;
    if ((rc = cli_need_pos(&a, 3, 3, "STORE COLL FILE"))) goto done;
    if ((rc = cli_open_both(&a, CLI_OPEN_WRITE, &s, &c, NULL))) goto done;
    double t0 = cli_now();
    int vrc = vs_coll_snapshot(c, a.pos[2]);
    if (vrc) {
        rc = cli_fail_coll(c, vrc);
        goto done;
    }
    struct stat st;
    if (stat(a.pos[2], &st) == 0)
        fprintf(stderr, "wrote snapshot of '%s' to %s (%lld bytes) in %.2f s\n", a.pos[1],
                a.pos[2], (long long)st.st_size, cli_now() - t0);
    else
        fprintf(stderr, "wrote snapshot of '%s' to %s\n", a.pos[1], a.pos[2]);
done:
    vs_coll_close(c);
    vs_store_close(s);
    cli_args_free(&a);
    return rc;
}

static const char restore_help[] =
    "usage: vecstore restore STORE FILE [--name NAME] [--fsync P]\n"
    "\n"
    "Creates a collection from the archive FILE (made by `vecstore snapshot`) under\n"
    "NAME, or under the name it was saved as. The archive is verified before anything is\n"
    "created; the collection must not exist yet. STORE is created if missing.\n";

static const cli_optspec restore_opts[] = {{"name", 0, OPT_VALUE}, {"fsync", 0, OPT_VALUE},
                                           {NULL, 0, 0}};

static int in_list(char **names, size_t n, const char *s) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], s)) return 1;
    return 0;
}

int cmd_restore(int argc, char **argv) {
    cli_args a;
    vs_store *s = NULL;
    char **before = NULL, **after = NULL;
    size_t nb = 0, na = 0;
    int rc = cli_parse(&a, argc, argv, restore_opts, restore_help);
    if (rc || a.help) goto done;
    if ((rc = cli_need_pos(&a, 2, 2, "STORE FILE"))) goto done;
    const char *name = cli_opt(&a, "name");
    if (name && (rc = check_coll_name(name))) goto done;
    struct stat st;
    if (stat(a.pos[1], &st) != 0) {
        rc = cli_fail("%s: %s", a.pos[1], strerror(errno));
        goto done;
    }
    if ((rc = cli_open_store(&a, a.pos[0], CLI_OPEN_CREATE, &s))) goto done;
    /* vs_store_restore does not say which name it restored under when NAME is not
     * given; the difference between the listings before and after tells. */
    if (vs_store_list(s, &before, &nb)) before = NULL, nb = 0;
    int vrc = vs_store_restore(s, a.pos[1], name);
    if (vrc) {
        rc = cli_fail_store(s, vrc);
        goto done;
    }
    const char *got = name;
    if (!got && vs_store_list(s, &after, &na) == VS_OK) {
        for (size_t i = 0; i < na && !got; i++)
            if (!in_list(before, nb, after[i])) got = after[i];
    } else {
        after = NULL;
    }
    if (got)
        fprintf(stderr, "restored collection '%s' from %s\n", got, a.pos[1]);
    else
        fprintf(stderr, "restored %s\n", a.pos[1]);
done:
    if (before) vs_strlist_free(before, nb);
    if (after) vs_strlist_free(after, na);
    vs_store_close(s);
    cli_args_free(&a);
    return rc;
}

/* ------------------------------------------------------------ check ----- */

static const char check_help[] =
    "usage: vecstore check STORE [--verbose] [--format table|json]\n"
    "\n"
    "Verifies every checksum of STORE offline (vs_store_check; read-only, so a store\n"
    "open for writing elsewhere may be checked). Prints one line per finding:\n"
    "  NOTE   FILE: MESSAGE   something recoverable, e.g. a torn WAL tail that recovery\n"
    "                         will discard\n"
    "  ERROR  FILE: MESSAGE   damage: data is lost or the store will not open\n"
    "and a summary line. --verbose also lists the files found intact (OK).\n"
    "Exit status 0 when there is no ERROR (notes alone are fine), 1 otherwise.\n";

static const cli_optspec check_opts[] = {{"format", 0, OPT_VALUE}, {"verbose", 'v', OPT_FLAG},
                                         {"read-only", 0, OPT_FLAG}, {NULL, 0, 0}};

typedef struct check_ctx {
    int fmt, verbose;
    uint64_t ok, notes, errors;
    int any_json;
} check_ctx;

static void check_cb(void *vctx, int level, const char *file, const char *msg) {
    check_ctx *x = vctx;
    const char *lv = level == VS_CHECK_ERROR ? "ERROR" : level == VS_CHECK_NOTE ? "NOTE" : "OK";
    if (level == VS_CHECK_ERROR)
        x->errors++;
    else if (level == VS_CHECK_NOTE)
        x->notes++;
    else
        x->ok++;
    if (level == VS_CHECK_OK && !x->verbose) return;
    if (!file) file = "";
    if (!msg) msg = "";
    if (x->fmt == FMT_JSON) {
        fputs(x->any_json++ ? ",\n  " : "\n  ", stdout);
        fprintf(stdout, "{\"level\":\"%s\",\"file\":", lv);
        txt_fjson_str(stdout, file, strlen(file));
        fputs(",\"message\":", stdout);
        txt_fjson_str(stdout, msg, strlen(msg));
        fputc('}', stdout);
    } else {
        fprintf(stdout, "%-5s  %s%s%s\n", lv, file, *file ? ": " : "", msg);
    }
}

int cmd_check(int argc, char **argv) {
    cli_args a;
    check_ctx x = {0};
    int rc = cli_parse(&a, argc, argv, check_opts, check_help);
    if (rc || a.help) goto done;
    if ((rc = cli_need_pos(&a, 1, 1, "STORE"))) goto done;
    if ((rc = cli_get_format(&a, FMT_TABLE, FMT_BIT(FMT_TABLE) | FMT_BIT(FMT_JSON), &x.fmt)))
        goto done;
    x.verbose = cli_has(&a, "verbose");
    if (x.fmt == FMT_JSON) fputs("{\"findings\":[", stdout);
    int vrc = vs_store_check(a.pos[0], check_cb, &x);
    int readable = vrc == VS_OK || vrc == VS_ECORRUPT;
    int ok = x.errors == 0 && vrc == VS_OK;
    uint64_t nerr = x.errors ? x.errors : !ok;
    if (x.fmt == FMT_JSON) {
        fprintf(stdout, "%s],\"ok\":%s,\"files_ok\":%" PRIu64 ",\"notes\":%" PRIu64
                        ",\"errors\":%" PRIu64,
                x.any_json ? "\n" : "", ok ? "true" : "false", x.ok, x.notes, nerr);
        if (!readable) {
            fputs(",\"error\":", stdout);
            txt_fjson_str(stdout, vs_errstr(vrc), strlen(vs_errstr(vrc)));
        }
        fputs("}\n", stdout);
    } else if (readable) {
        fprintf(stdout, "check: %s: %" PRIu64 " error%s, %" PRIu64 " note%s, %" PRIu64
                        " file%s intact\n",
                a.pos[0], nerr, nerr == 1 ? "" : "s", x.notes, x.notes == 1 ? "" : "s", x.ok,
                x.ok == 1 ? "" : "s");
    }
    /* vs_store_check has no handle, so there is no specific message: only the code. */
    if (!readable)
        rc = cli_fail("%s: %s", a.pos[0], vs_errstr(vrc));
    else if (!ok)
        rc = cli_fail("%s: the store is damaged (%" PRIu64 " error%s)", a.pos[0], nerr,
                      nerr == 1 ? "" : "s");
done:
    cli_args_free(&a);
    return cli_finish_stdout(rc);
}

/* ------------------------------------------------------ payload indexes ------ */

static const char pindex_help[] =
    "usage: vecstore payload-index STORE COLL create PATH TYPE [--fsync P]\n"
    "       vecstore payload-index STORE COLL drop PATH [TYPE]\n"
    "       vecstore payload-index STORE COLL list\n"
    "\n"
    "Payload indexes make filters on a payload path fast (docs/filters.md).\n"
    "PATH uses the filter key syntax (a.b, tags[], $.meta.lang); TYPE is one of\n"
    "keyword, integer, float, bool, datetime, text, geo (points {\"lat\", \"lon\"}:\n"
    "geo_radius, geo_bounding_box, geo_polygon and nearest use it). create builds the\n"
    "index over every segment before it returns; drop without TYPE drops every index\n"
    "on PATH.\n";

int cmd_payload_index(int argc, char **argv) {
    cli_args a;
    vs_store *s = NULL;
    vs_coll *c = NULL;
    int rc = cli_parse(&a, argc, argv, write_opts, pindex_help);
    if (rc || a.help) goto done;
    if ((rc = cli_need_pos(&a, 3, 5, "STORE COLL create|drop|list [PATH [TYPE]]"))) goto done;
    const char *op = a.pos[2];
    int list = !strcmp(op, "list"), create = !strcmp(op, "create"), drop = !strcmp(op, "drop");
    if (!list && !create && !drop) {
        rc = cli_usage("payload-index: expected create, drop or list, got '%s'", op);
        goto done;
    }
    if ((list && a.npos != 3) || (create && a.npos != 5) || (drop && a.npos < 4)) {
        rc = cli_usage(list ? "payload-index list takes no PATH"
                            : create ? "payload-index create needs PATH and TYPE"
                                     : "payload-index drop needs PATH");
        goto done;
    }
    int type = 0;
    if (a.npos == 5 && (type = vs_pindex_type_parse(a.pos[4])) < 0) {
        rc = cli_usage("unknown payload index type '%s' (keyword, integer, float, bool, "
                       "datetime, text, geo)", a.pos[4]);
        goto done;
    }
    if ((rc = cli_open_both(&a, list ? CLI_OPEN_READ : CLI_OPEN_WRITE, &s, &c, NULL))) goto done;
    int vrc;
    if (list) {
        vs_pindex_info *info;
        size_t n;
        if ((vrc = vs_coll_payload_indexes(c, &info, &n))) {
            rc = cli_fail_coll(c, vrc);
            goto done;
        }
        for (size_t i = 0; i < n; i++)
            printf("%s\t%s\t%" PRIu64 " entries\t%" PRIu64 " bytes\n", info[i].path,
                   vs_pindex_type_name(info[i].type), info[i].entries, info[i].memory_bytes);
        vs_free(info);
        goto done;
    }
    double t0 = cli_now();
    vrc = create ? vs_coll_create_payload_index(c, a.pos[3], type)
                 : vs_coll_drop_payload_index(c, a.pos[3], type);
    if (vrc) {
        rc = cli_fail_coll(c, vrc);
        goto done;
    }
    fprintf(stderr, "%s payload index on '%s' of '%s' in %.2f s\n", create ? "created" : "dropped",
            a.pos[3], a.pos[1], cli_now() - t0);
done:
    vs_coll_close(c);
    vs_store_close(s);
    cli_args_free(&a);
    return rc;
}
