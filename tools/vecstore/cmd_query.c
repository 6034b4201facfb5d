/*
 * cmd_query.c — `vecstore query`: the k nearest points to one vector (--vector) or to
 * every vector of a file (--queries FILE.fvecs|.npy|.jsonl|.csv).
 *
 * A query file is read twice, like an import: the first pass validates every vector
 * (dimension, finiteness) so that a bad line 900 fails the command before any result is
 * printed, and the second pass sends the vectors to vs_query_run in batches of --batch
 * queries (nq > 1), printing each batch's groups as they come, so a file of any size
 * needs memory for one batch only.
 *
 * --decay blends geography into the ranking (vs_decay): vector scores are combined with a
 * decay of the points' geodesic distance from --origin (gauss, exp or linear, equal to
 * --decay-value at --decay-offset + --scale metres) and the best K are printed with the
 * combined score (--candidates: the window of vector hits the library rescores first).
 * Its numbers are checked here, before the store is opened (usage errors); what the
 * library refuses (a bad --geo-key path) exits 1.
 *
 * Output: with --vector, json prints one array of {"id","score","payload"[,"vector"]};
 * with --queries, one such array per query per line (JSON Lines), in file order. Scores
 * are the metric's natural value (l2: distance, ascending; cosine/dot: similarity,
 * descending) printed with %.9g.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "output.h"
#include "reader.h"

#define QUERY_BATCH_DEFAULT 256

static const char query_help[] =
    "usage: vecstore query STORE COLL (--vector '[...]' | --queries FILE) [-k K]\n"
    "                     [--filter JSON | --where TEXT] [--field NAME] [--exact]\n"
    "                     [--with-vector] [--profile FILE] [--analyze] [--explain]\n"
    "                     [--with-payload | --no-payload] [--offset N]\n"
    "                     [--score-threshold X] [--batch N] [--ef N]\n"
    "                     [--oversampling X] [--no-rescore] [--ignore-quantization]\n"
    "                     [--decay gauss|exp|linear --geo-key PATH --origin LAT,LON\n"
    "                      --scale METRES [--decay-offset METRES] [--decay-value X]\n"
    "                      [--combine multiply|sum] [--weight W] [--candidates N]]\n"
    "                     [--format json|jsonl|table|csv]\n"
    "\n"
    "Prints the K nearest points to each query vector.\n"
    "\n"
    "  --vector JSON       one query vector, a JSON array of numbers\n"
    "  --queries FILE      many: .fvecs, .npy (2-D float32/float64), .jsonl (one array,\n"
    "                      or an object with \"vector\", per line) or .csv (same vector\n"
    "                      columns as import); --type overrides the extension\n"
    "  -k, --k K           neighbours per query, 1..100000 (default 10)\n"
    "  --filter JSON       only points whose payload matches (Qdrant filter structure)\n"
    "  --where TEXT        the same in the text syntax (docs/filters.md), e.g.\n"
    "                      \"price < 10 AND $.meta.lang MATCHES '^en'\"\n"
    "  --field NAME        the vector field to search (needed when there are several)\n"
    "  --profile FILE      write the query's profile: FILE.svg a flame graph, FILE.folded\n"
    "                      (or .txt) folded stacks for flamegraph.pl/speedscope, else JSON\n"
    "  --analyze           run the query and print its stages with actual times and\n"
    "                      counters (like EXPLAIN ANALYZE) instead of the hits\n"
    "  --explain           print the plan (per segment: strategy, estimated matching\n"
    "                      rows and where the estimate came from) without running it\n"
    "  --exact             exact search even when an index exists\n"
    "  --ef N              HNSW beam width, 1..65536 (default 64; more = better recall)\n"
    "  --oversampling X    quantized fields: keep max(ef, k*X) candidates for rescoring\n"
    "                      with the original vectors (1..100, default 1)\n"
    "  --no-rescore        quantized fields: return the codes' approximate scores\n"
    "  --ignore-quantization  quantized fields: walk the graph with the original vectors\n"
    "  --with-vector       include the stored vectors\n"
    "  --no-payload        leave out payloads (--with-payload, the default, keeps them)\n"
    "  --offset N          skip the first N hits (pagination)\n"
    "  --score-threshold X drop hits worse than X (l2: farther; cosine/dot: lower)\n"
    "  --batch N           query vectors per library call with --queries (default 256)\n"
    "  --vector-field K    jsonl/csv query files: the key/column of the vector\n"
    "\n"
    "Hybrid geo + vector ranking (docs/geo.md): each point's vector score is combined\n"
    "with a decay t of its distance d from an origin, and the best K are printed with\n"
    "the combined score.\n"
    "  --decay F           gauss, exp or linear: with d' = max(0, d - offset),\n"
    "                      gauss t = X^((d'/scale)^2), exp t = X^(d'/scale),\n"
    "                      linear t = max(0, 1 - d'(1-X)/scale); t = 1 within offset\n"
    "  --geo-key PATH      payload path of the locations ({\"lat\": …, \"lon\": …});\n"
    "                      a point without one gets t = 0\n"
    "  --origin LAT,LON    the origin in degrees, e.g. 52.52,13.405\n"
    "  --scale METRES      distance beyond the offset at which t = X (> 0, required)\n"
    "  --decay-offset M    metres within which t = 1 (default 0)\n"
    "  --decay-value X     t at offset + scale, 0 < X < 1 (default 0.5)\n"
    "  --combine C         multiply (default): cosine/dot s*t (s/t when s < 0),\n"
    "                      l2 s/t; sum: cosine/dot s + W*t, l2 s - W*t\n"
    "  --weight W          the weight of t with --combine sum (default 1)\n"
    "  --candidates N      vector hits rescored first, 1..100000 (default\n"
    "                      max(5*(K+offset), 50)); the ranking is exact beyond them\n"
    "\n"
    "Output: json (default) prints one array of {\"id\",\"score\",\"payload\"} for\n"
    "--vector, and one array per line per query for --queries (as jsonl does); table\n"
    "and csv add a \"query\" column (the 0-based query number) for --queries.\n"
    "Opens the store read-only.\n";

static const cli_optspec query_opts[] = {
    {"vector", 0, OPT_VALUE},        {"queries", 0, OPT_VALUE},      {"type", 0, OPT_VALUE},
    {"k", 'k', OPT_VALUE},           {"filter", 0, OPT_VALUE}, {"where", 0, OPT_VALUE},       {"field", 0, OPT_VALUE},
    {"profile", 0, OPT_VALUE},       {"analyze", 0, OPT_FLAG}, {"explain", 0, OPT_FLAG},
    {"exact", 0, OPT_FLAG},          {"with-vector", 0, OPT_FLAG},   {"with-payload", 0, OPT_FLAG},
    {"no-payload", 0, OPT_FLAG},     {"offset", 0, OPT_VALUE},       {"score-threshold", 0, OPT_VALUE},
    {"batch", 0, OPT_VALUE},         {"vector-field", 0, OPT_VALUE}, {"format", 0, OPT_VALUE},
    {"read-only", 0, OPT_FLAG},      {"ef", 0, OPT_VALUE},           {"oversampling", 0, OPT_VALUE},
    {"no-rescore", 0, OPT_FLAG},     {"ignore-quantization", 0, OPT_FLAG},
    {"decay", 0, OPT_VALUE},         {"geo-key", 0, OPT_VALUE},      {"origin", 0, OPT_VALUE},
    {"scale", 0, OPT_VALUE},         {"decay-offset", 0, OPT_VALUE}, {"decay-value", 0, OPT_VALUE},
    {"combine", 0, OPT_VALUE},       {"weight", 0, OPT_VALUE},       {"candidates", 0, OPT_VALUE},
    {NULL, 0, 0}};

/* --decay and its options into *d; *on says whether a decay was asked for. Every check
 * that does not need the store is made here, so each mistake is a usage error. */
static int parse_decay(const cli_args *a, vs_decay *d, int *on) {
    static const char *const deps[] = {"geo-key", "origin", "scale", "decay-offset",
                                       "decay-value", "combine", "weight", "candidates"};
    int rc;
    vs_decay_init(d);
    const char *fn = cli_opt(a, "decay");
    *on = fn != NULL;
    if (!fn) {
        for (size_t i = 0; i < sizeof deps / sizeof deps[0]; i++)
            if (cli_has(a, deps[i])) return cli_usage("--%s needs --decay gauss|exp|linear", deps[i]);
        return CLI_OK;
    }
    if (!strcmp(fn, "gauss"))
        d->func = VS_DECAY_GAUSS;
    else if (!strcmp(fn, "exp"))
        d->func = VS_DECAY_EXP;
    else if (!strcmp(fn, "linear"))
        d->func = VS_DECAY_LINEAR;
    else
        return cli_usage("--decay: expected gauss, exp or linear, got '%s'", fn);
    d->key = cli_opt(a, "geo-key");
    const char *origin = cli_opt(a, "origin");
    if (!d->key || !*d->key) return cli_usage("--decay needs --geo-key PATH (the payload path of the locations)");
    if (!origin) return cli_usage("--decay needs --origin LAT,LON");
    if (!cli_has(a, "scale")) return cli_usage("--decay needs --scale METRES");
    if ((rc = cli_parse_latlon("--origin", origin, &d->lat, &d->lon))) return rc;
    if ((rc = cli_opt_double(a, "scale", 0, &d->scale))) return rc;
    if (!(d->scale > 0)) return cli_usage("--scale must be > 0 metres, got %s", cli_opt(a, "scale"));
    if ((rc = cli_opt_double(a, "decay-offset", 0, &d->offset))) return rc;
    if (d->offset < 0)
        return cli_usage("--decay-offset must be >= 0 metres, got %s", cli_opt(a, "decay-offset"));
    if ((rc = cli_opt_double(a, "decay-value", d->decay, &d->decay))) return rc;
    if (!(d->decay > 0 && d->decay < 1))
        return cli_usage("--decay-value must be between 0 and 1 (exclusive), got %s",
                         cli_opt(a, "decay-value"));
    const char *comb = cli_opt(a, "combine");
    if (!comb || !strcmp(comb, "multiply"))
        d->combine = VS_COMBINE_MULTIPLY;
    else if (!strcmp(comb, "sum"))
        d->combine = VS_COMBINE_SUM;
    else
        return cli_usage("--combine: expected multiply or sum, got '%s'", comb);
    if (cli_has(a, "weight") && d->combine != VS_COMBINE_SUM)
        return cli_usage("--weight applies to --combine sum only");
    if ((rc = cli_opt_double(a, "weight", d->weight, &d->weight))) return rc;
    long long cand;
    if ((rc = cli_opt_int(a, "candidates", VS_DECAY_CANDIDATES_MIN, VS_DECAY_CANDIDATES_MAX, 0, &cand)))
        return rc;
    d->candidates = (uint32_t)cand;
    return CLI_OK;
}

/* Runs one vs_query_run over nq vectors and prints its groups. */
/* --profile FILE / --analyze (single queries): where the profile goes. */
typedef struct prof_out {
    const char *path; /* format by extension: .svg, .folded/.txt, else JSON */
    int analyze;      /* print the plan with actual times instead of the hits */
} prof_out;

static int write_profile(vs_result *r, const prof_out *po) {
    if (po->analyze) {
        const char *t = vs_result_profile(r, VS_PROFILE_TEXT);
        if (!t) return cli_fail("out of memory formatting the profile");
        fputs(t, stdout);
    }
    if (!po->path) return CLI_OK;
    const char *dot = strrchr(po->path, '.');
    int fmt = VS_PROFILE_JSON;
    if (dot && !strcmp(dot, ".svg")) fmt = VS_PROFILE_SVG;
    if (dot && (!strcmp(dot, ".folded") || !strcmp(dot, ".txt"))) fmt = VS_PROFILE_FOLDED;
    const char *t = vs_result_profile(r, fmt);
    if (!t) return cli_fail("out of memory formatting the profile");
    FILE *f = fopen(po->path, "w");
    if (!f) return cli_fail("--profile: cannot write %s: %s", po->path, strerror(errno));
    int bad = fputs(t, f) < 0;
    bad |= fclose(f) != 0;
    if (bad) return cli_fail("--profile: error writing %s", po->path);
    return CLI_OK;
}

static const prof_out *g_prof; /* set for single --vector queries */

static int run_batch(vs_coll *c, vs_query *q, const float *v, size_t nq, size_t first_no,
                     out_points *o) {
    vs_result *r = NULL;
    q->vectors = v;
    q->nq = nq;
    int vrc = vs_query_run(c, q, &r);
    if (vrc) return cli_fail_coll(c, vrc);
    if (g_prof) {
        int prc = write_profile(r, g_prof);
        if (prc || g_prof->analyze) {
            vs_result_free(r);
            return prc;
        }
    }
    size_t groups = vs_result_groups(r);
    for (size_t g = 0; g < groups; g++) out_points_group(o, r, g, first_no + g);
    vs_result_free(r);
    if (groups != nq) return cli_fail("the library returned %zu result groups for %zu queries",
                                      groups, nq);
    return CLI_OK;
}

static int query_file(vs_coll *c, vs_query *q, const char *path, int format,
                      const char *vector_field, const vs_coll_info *in, uint32_t fi,
                      size_t batch, out_points *o) {
    rd_schema sc = {0};
    sc.n = 1;
    memcpy(sc.name[0], in->fields[fi].name, sizeof sc.name[0]);
    sc.dim[0] = in->fields[fi].dim;
    rd_opts ro = {0};
    ro.query_mode = 1;
    ro.vector_field = vector_field;
    reader *rd = NULL;
    rd_record rec;
    char err[1024], where[1200];
    float *buf = NULL;
    int rc = CLI_OK, got;
    if (rd_open(&rd, path, format, &sc, &ro, err, sizeof err)) return cli_fail("%s", err);

    /* Pass 1: every query vector must be usable before any result is printed. */
    while ((got = rd_next(rd, &rec, err, sizeof err)) == 1) {
        if (rec.bad) {
            rd_where(rd, &rec, where, sizeof where);
            rc = cli_fail("%s: %s", where, rec.reason);
            goto done;
        }
    }
    if (got < 0 || rd_rewind(rd, err, sizeof err)) {
        rc = cli_fail("%s", err);
        goto done;
    }

    /* Pass 2: batches of nq vectors. */
    uint32_t dim = sc.dim[0];
    buf = cli_xmalloc(batch * dim * sizeof(float));
    size_t n = 0, done_q = 0;
    while ((got = rd_next(rd, &rec, err, sizeof err)) == 1) {
        if (rec.bad) {
            rd_where(rd, &rec, where, sizeof where);
            rc = cli_fail("%s: %s (the file changed while it was read)", where, rec.reason);
            break;
        }
        memcpy(buf + n * dim, rec.vec[0], dim * sizeof(float));
        if (++n == batch) {
            if ((rc = run_batch(c, q, buf, n, done_q, o))) break;
            done_q += n;
            n = 0;
        }
    }
    if (got < 0 && !rc) rc = cli_fail("%s", err);
    if (!rc && n) rc = run_batch(c, q, buf, n, done_q, o);
    out_points_finish(o, rc);
done:
    free(buf);
    rd_close(rd);
    return rc;
}

int cmd_query(int argc, char **argv) {
    cli_args a;
    vs_store *s = NULL;
    vs_coll *c = NULL;
    float *vec = NULL;
    uint32_t vdim = 0;
    vs_coll_info in;
    int fmt, qformat = -1;
    long long k, offset, batch;
    int rc = cli_parse(&a, argc, argv, query_opts, query_help);
    if (rc || a.help) goto done;
    if ((rc = cli_need_pos(&a, 2, 2, "STORE COLL"))) goto done;
    const char *vtext = cli_opt(&a, "vector"), *qfile = cli_opt(&a, "queries");
    if (!vtext == !qfile) {
        rc = cli_usage("give exactly one of --vector '[...]' and --queries FILE");
        goto done;
    }
    if ((rc = cli_opt_int(&a, "k", 1, VS_K_MAX, 10, &k))) goto done;
    if ((rc = cli_opt_int(&a, "offset", 0, UINT32_MAX, 0, &offset))) goto done;
    if ((rc = cli_opt_int(&a, "batch", 1, 65536, QUERY_BATCH_DEFAULT, &batch))) goto done;
    if ((rc = cli_get_format(&a, FMT_JSON, 0xF, &fmt))) goto done;
    const char *filter;
    if ((rc = cli_opt_filter(&a, &filter))) goto done;
    if (cli_has(&a, "with-payload") && cli_has(&a, "no-payload")) {
        rc = cli_usage("--with-payload and --no-payload contradict each other");
        goto done;
    }
    int has_thr = 0;
    float thr = 0;
    if (cli_has(&a, "score-threshold")) {
        const char *t = cli_opt(&a, "score-threshold");
        char *end;
        double d = strtod(t, &end);
        if (!*t || *end || !isfinite(d)) {
            rc = cli_usage("--score-threshold: expected a number, got '%s'", t);
            goto done;
        }
        has_thr = 1;
        thr = (float)d;
    }
    vs_decay decay;
    int has_decay;
    if ((rc = parse_decay(&a, &decay, &has_decay))) goto done;
    if (vtext && (rc = cli_parse_vector("vector", vtext, &vec, &vdim))) goto done;
    if (qfile) {
        const char *t = cli_opt(&a, "type");
        qformat = rd_format_of(t ? t : qfile, !t);
        if (qformat < 0) {
            rc = t ? cli_usage("--type: expected jsonl, csv, npy or fvecs, got '%s'", t)
                   : cli_usage("cannot tell the format of '%s' from its extension (.fvecs, "
                               ".npy, .jsonl, .csv); use --type", qfile);
            goto done;
        }
    }

    if ((rc = cli_open_both(&a, CLI_OPEN_READ, &s, &c, &in))) goto done;
    uint32_t fi;
    if ((rc = cli_find_field(&in, cli_opt(&a, "field"), &fi))) goto done;
    if (vec && vdim != in.fields[fi].dim) {
        rc = cli_fail("--vector: expected %u dimensions, got %u", in.fields[fi].dim, vdim);
        goto done;
    }

    vs_query q;
    vs_query_init(&q);
    q.field = in.fields[fi].name;
    q.dim = in.fields[fi].dim;
    q.k = (uint32_t)k;
    q.offset = (uint32_t)offset;
    q.filter = filter;
    q.with = cli_with(&a);
    q.has_threshold = has_thr;
    q.score_threshold = thr;
    q.decay = has_decay ? &decay : NULL;
    q.flags = cli_has(&a, "exact") ? VS_QUERY_EXACT : 0;
    if (cli_has(&a, "no-rescore")) q.flags |= VS_QUERY_NO_RESCORE;
    if (cli_has(&a, "ignore-quantization")) q.flags |= VS_QUERY_IGNORE_QUANT;
    if (cli_has(&a, "oversampling")) {
        const char *t = cli_opt(&a, "oversampling");
        char *end;
        double d = strtod(t, &end);
        if (!*t || *end || !(d >= VS_OVERSAMPLING_MIN && d <= VS_OVERSAMPLING_MAX)) {
            rc = cli_usage("--oversampling: expected a number in %g..%g, got '%s'",
                           (double)VS_OVERSAMPLING_MIN, (double)VS_OVERSAMPLING_MAX, t);
            goto done;
        }
        q.oversampling = (float)d;
    }
    prof_out po = {cli_opt(&a, "profile"), cli_has(&a, "analyze") || cli_has(&a, "explain")};
    if ((po.path || po.analyze) && qfile) {
        rc = cli_usage("--profile, --analyze and --explain take one query: use --vector");
        goto done;
    }
    if (po.path || po.analyze) {
        q.flags |= cli_has(&a, "explain") ? VS_QUERY_EXPLAIN : VS_QUERY_PROFILE;
        g_prof = &po;
    }
    if (cli_has(&a, "ef")) {
        long long ef;
        if ((rc = cli_opt_int(&a, "ef", VS_HNSW_EF_MIN, VS_HNSW_EF_MAX, 0, &ef))) goto done;
        q.ef = (uint32_t)ef;
    }

    out_points o;
    out_points_init(&o, fmt, &in, q.with);
    o.scores = 1;
    o.group_arrays = 1;
    if (qfile) {
        if (o.fmt == FMT_JSON) o.fmt = FMT_JSONL; /* one array per query per line */
        o.query_col = 1;
        rc = query_file(c, &q, qfile, qformat, cli_opt(&a, "vector-field"), &in, fi,
                        (size_t)batch, &o);
    } else {
        rc = run_batch(c, &q, vec, 1, 0, &o);
        if (!po.analyze) out_points_finish(&o, rc);
    }
    g_prof = NULL;
done:
    free(vec);
    vs_coll_close(c);
    vs_store_close(s);
    cli_args_free(&a);
    return cli_finish_stdout(rc);
}
