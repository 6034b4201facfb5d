/*
 * cmd_import.c — `vecstore import`: load points from a file into a collection.
 *
 * All or nothing, in two passes over the file:
 *   1. validate: every record is parsed and checked against the collection's schema
 *      (vs_coll_info_get) — ids, dimensions, NaN/Inf, float32 range, payload JSON and
 *      size. Nothing is written. Bad records are reported as FILE:LINE: reason (or
 *      FILE: row N: reason for .npy/.fvecs). Without --skip-bad one bad record means
 *      nothing is imported (scanning stops after REPORT_MAX of them); with --skip-bad
 *      they are all listed and left out.
 *   2. import: the file is read again from the start and the good records are sent to
 *      vs_upsert in batches of --batch points.
 * Only the current record and one batch are ever in memory, so files far larger than
 * RAM import fine; the price is reading the file twice, which is why FILE must be a
 * regular file (not a pipe).
 *
 * What "nothing" means: pass 1 guarantees that the data cannot make vs_upsert fail. The
 * library has no multi-batch transaction, so if the store itself fails during pass 2
 * (disk full, I/O error) the batches already acknowledged stay imported; the error
 * message says how many points that was. Upserts are idempotent, so running the same
 * import again after fixing the cause converges to the intended state.
 *
 * A batch is also cut short when it would hold more than BATCH_BYTES of vectors or
 * payloads, so that --batch 100000 on 65536-dimensional vectors does not ask for 26 GB.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "progress.h"
#include "reader.h"
#include "text.h"

#define IMPORT_BATCH_DEFAULT 1000
#define REPORT_MAX 20               /* bad records listed before giving up (strict mode) */
#define BATCH_BYTES (64u << 20)     /* vector or payload bytes that end a batch early */

static const char import_help[] =
    "usage: vecstore import STORE COLL FILE [--batch N] [--skip-bad] [--type T]\n"
    "                      [--id-field K] [--vector-field K] [--payload-field K]\n"
    "                      [--str-ids] [--first-id N] [--fsync always|batch|off]\n"
    "\n"
    "Loads points from FILE into collection COLL. The format comes from the extension\n"
    "(or --type jsonl|csv|npy|fvecs):\n"
    "\n"
    "  .jsonl  one object per line: {\"id\": 7, \"vector\": [...], \"payload\": {...}}.\n"
    "          id: unsigned integer (digits only) or string of 1..256 bytes. vector: an\n"
    "          array, or {\"name\": [...], ...} with one entry per field of a multi-field\n"
    "          collection. payload: object, null or absent. Blank lines are skipped.\n"
    "  .csv    header row, then one point per row (RFC 4180 quoting):\n"
    "          - 'id' column: digits only = numeric id, else string id (--str-ids: all\n"
    "            strings); without an id column ids are --first-id + row number\n"
    "          - the vector: a 'vector' column holding a JSON array, or columns v0..vD-1\n"
    "            (or 0..D-1); a named field F: column F (JSON array) or F.0..F.D-1\n"
    "          - a 'payload' column, if present, holds a JSON object\n"
    "          - every other column becomes a payload key: empty cells are left out,\n"
    "            JSON numbers become numbers, true/false booleans, the rest strings\n"
    "  .npy    2-D float32 or float64 array, C order, little-endian (NPY 1.0/2.0/3.0);\n"
    "          row i gets id --first-id + i\n"
    "  .fvecs  records of [int32 dim][dim float32]; row i gets id --first-id + i\n"
    "\n"
    "The whole file is validated first (ids, dimensions, NaN/Inf, payload JSON); if any\n"
    "record is bad nothing is imported and each is reported as FILE:LINE: reason (FILE:\n"
    "row N: reason for .npy/.fvecs), exit status 1.\n"
    "\n"
    "  --skip-bad         import the good records; list the bad ones on stderr\n"
    "  --batch N          points per upsert, 1..1000000 (default 1000)\n"
    "  --id-field K       key/column of the id (default id)\n"
    "  --vector-field K   key/column of the vector (default vector)\n"
    "  --payload-field K  key/column of the payload object (default payload)\n"
    "  --str-ids          csv: read every id as a string\n"
    "  --first-id N       id of the first row for .npy, .fvecs and id-less .csv (0)\n"
    "  --fsync P          always (default), batch or off (fastest for bulk loads)\n"
    "\n"
    "A progress bar is drawn on stderr when it is a terminal; the last line is\n"
    "\"imported N points in X s (Y points/s)\".\n";

static const cli_optspec import_opts[] = {
    {"batch", 0, OPT_VALUE},         {"skip-bad", 0, OPT_FLAG},   {"type", 0, OPT_VALUE},
    {"id-field", 0, OPT_VALUE},      {"vector-field", 0, OPT_VALUE},
    {"payload-field", 0, OPT_VALUE}, {"str-ids", 0, OPT_FLAG},    {"first-id", 0, OPT_VALUE},
    {"fsync", 0, OPT_VALUE},         {NULL, 0, 0}};

/* ------------------------------------------------------------ batches --- */

typedef struct batch {
    size_t n, cap;
    const vs_coll_info *info;
    vs_id *ids;
    char *idstr;                 /* cap slots of VS_ID_STR_MAX bytes for string ids */
    float *vec[VS_FIELDS_MAX];   /* cap rows per field */
    txt_buf pay;                 /* payload texts, back to back */
    size_t *poff, *plen;         /* per point; plen 0 = no payload */
    const char **pptr;
    int any_payload;
    uint64_t imported;
} batch;

static void batch_init(batch *b, const vs_coll_info *info, size_t want) {
    memset(b, 0, sizeof *b);
    b->info = info;
    size_t row = 0;
    for (uint32_t i = 0; i < info->n_fields; i++) row += (size_t)info->fields[i].dim * 4;
    size_t cap = BATCH_BYTES / (row ? row : 1);
    if (cap < 1) cap = 1;
    b->cap = want < cap ? want : cap;
    b->ids = cli_xcalloc(b->cap, sizeof *b->ids);
    b->idstr = cli_xmalloc(b->cap * VS_ID_STR_MAX);
    for (uint32_t i = 0; i < info->n_fields; i++)
        b->vec[i] = cli_xmalloc(b->cap * info->fields[i].dim * sizeof(float));
    b->poff = cli_xcalloc(b->cap, sizeof *b->poff);
    b->plen = cli_xcalloc(b->cap, sizeof *b->plen);
    b->pptr = cli_xcalloc(b->cap, sizeof *b->pptr);
}

static void batch_free(batch *b) {
    free(b->ids);
    free(b->idstr);
    for (uint32_t i = 0; i < VS_FIELDS_MAX; i++) free(b->vec[i]);
    txt_free(&b->pay);
    free(b->poff);
    free(b->plen);
    free(b->pptr);
}

static void batch_add(batch *b, const rd_record *rec) {
    size_t i = b->n++;
    b->ids[i] = rec->id;
    if (rec->id.kind == VS_ID_STR) {
        char *slot = b->idstr + i * VS_ID_STR_MAX;
        memcpy(slot, rec->id.str, rec->id.len);
        b->ids[i].str = slot;
    }
    for (uint32_t f = 0; f < b->info->n_fields; f++) {
        uint32_t d = b->info->fields[f].dim;
        memcpy(b->vec[f] + i * d, rec->vec[f], d * sizeof(float));
    }
    b->poff[i] = b->pay.len;
    b->plen[i] = rec->payload ? rec->payload_len : 0;
    if (rec->payload) {
        txt_put(&b->pay, rec->payload, rec->payload_len);
        b->any_payload = 1;
    }
}

static int batch_full(const batch *b) { return b->n == b->cap || b->pay.len >= BATCH_BYTES; }

static int batch_flush(batch *b, vs_coll *c) {
    if (!b->n) return CLI_OK;
    vs_vectors cols[VS_FIELDS_MAX];
    for (uint32_t f = 0; f < b->info->n_fields; f++) {
        cols[f].field = b->info->fields[f].name;
        cols[f].data = b->vec[f];
        cols[f].dim = b->info->fields[f].dim;
    }
    /* Pointers into pay are taken only now: it may have moved while growing. */
    for (size_t i = 0; i < b->n; i++) b->pptr[i] = b->plen[i] ? b->pay.p + b->poff[i] : NULL;
    vs_upsert_batch ub = {0};
    ub.n = b->n;
    ub.ids = b->ids;
    ub.vectors = cols;
    ub.n_vectors = b->info->n_fields;
    ub.payloads = b->any_payload ? b->pptr : NULL;
    ub.payload_lens = b->any_payload ? b->plen : NULL;
    int vrc = vs_upsert(c, &ub);
    if (vrc) {
        cli_fail_coll(c, vrc);
        return cli_fail("%" PRIu64 " points were imported before this failure", b->imported);
    }
    b->imported += b->n;
    b->n = 0;
    b->pay.len = 0;
    b->any_payload = 0;
    return CLI_OK;
}

/* ------------------------------------------------------------ command --- */

int cmd_import(int argc, char **argv) {
    cli_args a;
    vs_store *s = NULL;
    vs_coll *c = NULL;
    reader *rd = NULL;
    batch b;
    int have_batch = 0;
    vs_coll_info in;
    rd_record rec;
    progress pg;
    char err[1024], where[1200];
    long long bsize;
    uint64_t first_id = 0;
    int rc = cli_parse(&a, argc, argv, import_opts, import_help);
    if (rc || a.help) goto done;
    if ((rc = cli_need_pos(&a, 3, 3, "STORE COLL FILE"))) goto done;
    const char *path = a.pos[2];
    if ((rc = cli_opt_int(&a, "batch", 1, VS_BATCH_MAX, IMPORT_BATCH_DEFAULT, &bsize))) goto done;
    const char *fid = cli_opt(&a, "first-id");
    if (fid && cli_parse_u64(fid, strlen(fid), &first_id)) {
        rc = cli_usage("--first-id: expected an unsigned 64-bit integer, got '%s'", fid);
        goto done;
    }
    const char *type = cli_opt(&a, "type");
    int format = rd_format_of(type ? type : path, !type);
    if (format < 0) {
        rc = type ? cli_usage("--type: expected jsonl, csv, npy or fvecs, got '%s'", type)
                  : cli_usage("cannot tell the format of '%s' from its extension (.jsonl, "
                              ".csv, .npy, .fvecs); use --type", path);
        goto done;
    }
    const char *fields[] = {"id-field", "vector-field", "payload-field"};
    for (int i = 0; i < 3; i++) {
        const char *v = cli_opt(&a, fields[i]);
        if (v && !*v) {
            rc = cli_usage("--%s may not be empty", fields[i]);
            goto done;
        }
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        rc = cli_fail("%s: %s", path, strerror(errno));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = cli_fail("%s: not a regular file (import reads its input twice)", path);
        goto done;
    }
    int skip_bad = cli_has(&a, "skip-bad");

    if ((rc = cli_open_both(&a, CLI_OPEN_WRITE, &s, &c, &in))) goto done;
    rd_schema sc;
    rd_schema_from_info(&sc, &in);
    rd_opts ro = {0};
    ro.id_field = cli_opt(&a, "id-field");
    ro.vector_field = cli_opt(&a, "vector-field");
    ro.payload_field = cli_opt(&a, "payload-field");
    ro.str_ids = cli_has(&a, "str-ids");
    ro.first_id = first_id;
    if (rd_open(&rd, path, format, &sc, &ro, err, sizeof err)) {
        rd = NULL;
        rc = cli_fail("%s", err);
        goto done;
    }
    double t0 = cli_now();

    /* Pass 1: validate everything, write nothing. */
    uint64_t ngood = 0, nbad = 0;
    int got;
    progress_start(&pg, "validating");
    while ((got = rd_next(rd, &rec, err, sizeof err)) == 1) {
        if (!rec.bad) {
            ngood++;
        } else {
            nbad++;
            progress_end(&pg);
            rd_where(rd, &rec, where, sizeof where);
            cli_note("%s: %s%s", where, rec.reason, skip_bad ? " (skipped)" : "");
            if (!skip_bad && nbad >= REPORT_MAX) {
                cli_note("stopped after %d bad records", REPORT_MAX);
                break;
            }
        }
        if (((ngood + nbad) & 1023) == 0) progress_update(&pg, rd_fraction(rd), ngood + nbad);
    }
    progress_end(&pg);
    if (got < 0) {
        rc = cli_fail("%s", err);
        goto done;
    }
    if (nbad && !skip_bad) {
        rc = cli_fail("%s: %" PRIu64 " bad record%s; nothing imported (--skip-bad imports "
                      "the good ones)", path, nbad, nbad == 1 ? "" : "s");
        goto done;
    }
    if (nbad) cli_note("skipping %" PRIu64 " bad record%s", nbad, nbad == 1 ? "" : "s");

    /* Pass 2: the same records again, good ones into batches. */
    if (rd_rewind(rd, err, sizeof err)) {
        rc = cli_fail("%s", err);
        goto done;
    }
    batch_init(&b, &in, (size_t)bsize);
    have_batch = 1;
    uint64_t seen_bad = 0;
    progress_start(&pg, "importing");
    while (ngood && (got = rd_next(rd, &rec, err, sizeof err)) == 1) {
        if (rec.bad) {
            if (++seen_bad > nbad) {
                progress_end(&pg);
                rd_where(rd, &rec, where, sizeof where);
                rc = cli_fail("%s: %s (the file changed during the import; %" PRIu64
                              " points were imported)", where, rec.reason, b.imported);
                goto done;
            }
            continue;
        }
        batch_add(&b, &rec);
        if (batch_full(&b)) {
            if ((rc = batch_flush(&b, c))) {
                progress_end(&pg);
                goto done;
            }
            progress_update(&pg, rd_fraction(rd), b.imported);
        }
    }
    if (ngood && got < 0) {
        progress_end(&pg);
        rc = cli_fail("%s", err);
        goto done;
    }
    rc = batch_flush(&b, c);
    progress_end(&pg);
    if (rc) goto done;
    if (b.imported != ngood) {
        rc = cli_fail("%s: the file changed during the import: validated %" PRIu64
                      " good records, imported %" PRIu64, path, ngood, b.imported);
        goto done;
    }
    double el = cli_now() - t0;
    fprintf(stderr, "imported %" PRIu64 " point%s in %.2f s (%.0f points/s)", b.imported,
            b.imported == 1 ? "" : "s", el, el > 0 ? (double)b.imported / el : 0.0);
    if (nbad) fprintf(stderr, ", skipped %" PRIu64 " bad record%s", nbad, nbad == 1 ? "" : "s");
    fputc('\n', stderr);
done:
    if (have_batch) batch_free(&b);
    rd_close(rd);
    vs_coll_close(c);
    vs_store_close(s);
    cli_args_free(&a);
    return rc;
}
