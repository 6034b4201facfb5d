/*
 * cmd_points.c — commands that address points by id or by filter: get, delete, count,
 * scroll, set-payload, delete-payload.
 *
 * Ids on the command line follow one rule everywhere (cli_parse_id): a token made only
 * of digits is a numeric id, anything else a string id, and --str makes every token a
 * string id ("--str 42" addresses the string "42", not the number). A string id that
 * starts with '-' goes after "--".
 *
 * Read commands (get, count, scroll) open the store read-only; write commands take
 * --fsync. Write commands report what they did on stderr ("deleted 2 points") and print
 * nothing on stdout.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "output.h"

/* Reports a write by id on stderr: "<verb> N point(s)", plus how many of the n ids
 * were missing. */
static void report_ids(const char *verb, uint64_t hit, size_t n) {
    fprintf(stderr, "%s %" PRIu64 " point%s", verb, hit, hit == 1 ? "" : "s");
    if (hit < n) fprintf(stderr, " (%" PRIu64 " of %zu ids not found)", n - hit, n);
    fputc('\n', stderr);
}

/* ------------------------------------------------------------ get ------- */

static const char get_help[] =
    "usage: vecstore get STORE COLL ID... [--str] [--with-vector] [--no-payload]\n"
    "                    [--format json|jsonl|table|csv]\n"
    "\n"
    "Prints the points with the given ids, in the order asked; ids that do not exist are\n"
    "skipped (a note on stderr says how many). json (the default) prints one array of\n"
    "{\"id\", \"payload\"[, \"vector\"]}; jsonl one object per line.\n"
    "\n"
    "  --str           read every ID as a string id (default: digits-only = numeric)\n"
    "  --with-vector   include the stored vectors (cosine fields are stored normalised)\n"
    "  --no-payload    leave out the payloads\n"
    "\n"
    "Opens the store read-only.\n";

static const cli_optspec get_opts[] = {{"str", 0, OPT_FLAG},        {"with-vector", 0, OPT_FLAG},
                                       {"with-payload", 0, OPT_FLAG}, {"no-payload", 0, OPT_FLAG},
                                       {"format", 0, OPT_VALUE},    {"read-only", 0, OPT_FLAG},
                                       {NULL, 0, 0}};

int cmd_get(int argc, char **argv) {
    cli_args a;
    vs_store *s = NULL;
    vs_coll *c = NULL;
    vs_result *r = NULL;
    vs_id *ids = NULL;
    size_t n = 0;
    vs_coll_info in;
    int fmt;
    int rc = cli_parse(&a, argc, argv, get_opts, get_help);
    if (rc || a.help) goto done;
    if ((rc = cli_need_pos(&a, 3, -1, "STORE COLL ID..."))) goto done;
    if ((rc = cli_get_format(&a, FMT_JSON, 0xF, &fmt))) goto done;
    if ((rc = cli_parse_ids(&a, 2, &ids, &n))) goto done;
    if ((rc = cli_open_both(&a, CLI_OPEN_READ, &s, &c, &in))) goto done;
    int with = cli_with(&a);
    out_points o;
    out_points_init(&o, fmt, &in, with);
    int vrc = vs_get(c, ids, n, with, &r);
    if (vrc) {
        r = NULL;
        rc = cli_fail_coll(c, vrc);
        goto done;
    }
    size_t found = vs_result_groups(r) ? vs_result_rows(r, 0) : 0;
    if (found) out_points_group(&o, r, 0, 0);
    out_points_finish(&o, CLI_OK);
    if (found < n) cli_note("%zu of %zu ids not found", n - found, n);
done:
    vs_result_free(r);
    vs_coll_close(c);
    vs_store_close(s);
    free(ids);
    cli_args_free(&a);
    return cli_finish_stdout(rc);
}

/* ------------------------------------------------------------ delete ---- */

static const char delete_help[] =
    "usage: vecstore delete STORE COLL ID... [--str] [--fsync P]\n"
    "\n"
    "Deletes the points with the given ids (missing ids are ignored) and reports on\n"
    "stderr how many existed. --str reads every ID as a string id.\n";

static const cli_optspec delete_opts[] = {{"str", 0, OPT_FLAG}, {"fsync", 0, OPT_VALUE},
                                          {NULL, 0, 0}};

int cmd_delete(int argc, char **argv) {
    cli_args a;
    vs_store *s = NULL;
    vs_coll *c = NULL;
    vs_id *ids = NULL;
    size_t n = 0;
    int rc = cli_parse(&a, argc, argv, delete_opts, delete_help);
    if (rc || a.help) goto done;
    if ((rc = cli_need_pos(&a, 3, -1, "STORE COLL ID..."))) goto done;
    if ((rc = cli_parse_ids(&a, 2, &ids, &n))) goto done;
    if ((rc = cli_open_both(&a, CLI_OPEN_WRITE, &s, &c, NULL))) goto done;
    uint64_t deleted = 0;
    int vrc = vs_delete(c, ids, n, &deleted);
    if (vrc) {
        rc = cli_fail_coll(c, vrc);
        goto done;
    }
    report_ids("deleted", deleted, n);
done:
    vs_coll_close(c);
    vs_store_close(s);
    free(ids);
    cli_args_free(&a);
    return rc;
}

/* ------------------------------------------------------------ count ----- */

static const char count_help[] =
    "usage: vecstore count STORE COLL [--filter JSON | --where TEXT]\n"
    "                      [--format table|json|jsonl|csv]\n"
    "\n"
    "Prints the number of live points, or of those matching the filter: --filter takes\n"
    "Qdrant's JSON filter structure, e.g. '{\"must\":[{\"key\":\"color\",\"match\":{\"value\":\"red\"}}]}',\n"
    "--where the text syntax, e.g. \"color = 'red' AND price < 10\" (docs/filters.md).\n"
    "table (the default) prints the bare number; json prints {\"count\": N}.\n"
    "Opens the store read-only.\n";

static const cli_optspec count_opts[] = {{"filter", 0, OPT_VALUE}, {"where", 0, OPT_VALUE}, {"format", 0, OPT_VALUE},
                                         {"read-only", 0, OPT_FLAG}, {NULL, 0, 0}};

int cmd_count(int argc, char **argv) {
    cli_args a;
    vs_store *s = NULL;
    vs_coll *c = NULL;
    int fmt;
    int rc = cli_parse(&a, argc, argv, count_opts, count_help);
    if (rc || a.help) goto done;
    if ((rc = cli_need_pos(&a, 2, 2, "STORE COLL"))) goto done;
    if ((rc = cli_get_format(&a, FMT_TABLE, 0xF, &fmt))) goto done;
    const char *filter;
    if ((rc = cli_opt_filter(&a, &filter))) goto done;
    if ((rc = cli_open_both(&a, CLI_OPEN_READ, &s, &c, NULL))) goto done;
    uint64_t n = 0;
    int vrc = vs_count(c, filter, &n);
    if (vrc) {
        rc = cli_fail_coll(c, vrc);
        goto done;
    }
    if (fmt == FMT_JSON || fmt == FMT_JSONL)
        printf("{\"count\":%" PRIu64 "}\n", n);
    else if (fmt == FMT_CSV)
        printf("count\n%" PRIu64 "\n", n);
    else
        printf("%" PRIu64 "\n", n);
done:
    vs_coll_close(c);
    vs_store_close(s);
    cli_args_free(&a);
    return cli_finish_stdout(rc);
}

/* ------------------------------------------------------------ scroll ---- */

static const char scroll_help[] =
    "usage: vecstore scroll STORE COLL [--limit N] [--offset ID] [--str] [--all]\n"
    "                       [--filter JSON | --where TEXT] [--with-vector] [--no-payload]\n"
    "                       [--format json|jsonl|table|csv]\n"
    "\n"
    "Pages through the points in id order (numeric ids ascending, then string ids in\n"
    "byte order). A page holds up to N points (default 10) with id >= ID.\n"
    "\n"
    "  --limit N      page size, 1..1000000 (default 10)\n"
    "  --offset ID    start at this id (the next_page_offset of the previous page);\n"
    "                 --str reads it as a string id\n"
    "  --all          keep paging until the end (streams the whole collection)\n"
    "  --filter JSON  only points matching the filter (Qdrant's JSON structure)\n"
    "  --where TEXT   the same in the text syntax: \"tags ANY IN ('a','b') AND n >= 2\"\n"
    "\n"
    "json (the default) prints {\"points\": [...], \"next_page_offset\": ID or null};\n"
    "table prints the points and a last line \"next_page_offset: ID\"; jsonl and csv print\n"
    "only the points and report next_page_offset on stderr.\n"
    "Opens the store read-only.\n";

static const cli_optspec scroll_opts[] = {
    {"limit", 'n', OPT_VALUE},   {"offset", 0, OPT_VALUE},     {"str", 0, OPT_FLAG},
    {"all", 0, OPT_FLAG},        {"filter", 0, OPT_VALUE}, {"where", 0, OPT_VALUE},     {"with-vector", 0, OPT_FLAG},
    {"with-payload", 0, OPT_FLAG}, {"no-payload", 0, OPT_FLAG}, {"format", 0, OPT_VALUE},
    {"read-only", 0, OPT_FLAG},  {NULL, 0, 0}};

/* An id copied out of a result, so it outlives vs_result_free. */
typedef struct id_copy {
    vs_id id;
    char buf[VS_ID_STR_MAX + 1];
} id_copy;

static void id_keep(id_copy *k, vs_id id) {
    k->id = id;
    if (id.kind == VS_ID_STR) {
        size_t n = id.len <= VS_ID_STR_MAX ? id.len : VS_ID_STR_MAX;
        memcpy(k->buf, id.str, n);
        k->buf[n] = 0;
        k->id.str = k->buf;
        k->id.len = (uint32_t)n;
    }
}

static int id_same(vs_id a, vs_id b) {
    if (a.kind != b.kind) return 0;
    if (a.kind == VS_ID_STR) return a.len == b.len && !memcmp(a.str, b.str, a.len);
    return a.num == b.num;
}

int cmd_scroll(int argc, char **argv) {
    cli_args a;
    vs_store *s = NULL;
    vs_coll *c = NULL;
    vs_result *r = NULL;
    vs_coll_info in;
    int fmt;
    long long limit;
    id_copy off = {0};
    int have_off = 0, have_next = 0;
    int rc = cli_parse(&a, argc, argv, scroll_opts, scroll_help);
    if (rc || a.help) goto done;
    if ((rc = cli_need_pos(&a, 2, 2, "STORE COLL"))) goto done;
    if ((rc = cli_get_format(&a, FMT_JSON, 0xF, &fmt))) goto done;
    if ((rc = cli_opt_int(&a, "limit", 1, VS_BATCH_MAX, 10, &limit))) goto done;
    const char *filter;
    if ((rc = cli_opt_filter(&a, &filter))) goto done;
    if (cli_has(&a, "offset")) {
        vs_id id;
        if ((rc = cli_parse_id(cli_opt(&a, "offset"), cli_has(&a, "str"), &id))) goto done;
        id_keep(&off, id);
        have_off = 1;
    }
    if ((rc = cli_open_both(&a, CLI_OPEN_READ, &s, &c, &in))) goto done;
    int with = cli_with(&a);
    out_points o;
    out_points_init(&o, fmt, &in, with);
    int all = cli_has(&a, "all");
    for (int page = 0;; page++) {
        int vrc = vs_scroll(c, have_off ? &off.id : NULL, (uint32_t)limit, filter, with, &r);
        if (vrc) {
            r = NULL;
            rc = cli_fail_coll(c, vrc);
            break;
        }
        if (page == 0 && fmt == FMT_JSON) fputs("{\"points\":", stdout);
        size_t rows = vs_result_groups(r) ? vs_result_rows(r, 0) : 0;
        if (rows) out_points_group(&o, r, 0, 0);
        /* vs_result_next: 0 = no next page. The kind check also accepts an
         * implementation that returns VS_OK and fills the id. */
        vs_id next = {0, 0, NULL, 0};
        int nrc = vs_result_next(r, &next);
        have_next = nrc > 0 || (nrc == 0 && (next.kind == VS_ID_NUM || next.kind == VS_ID_STR));
        if (nrc < 0) {
            rc = cli_fail_coll(c, nrc);
            break;
        }
        /* A next offset equal to this page's start would loop forever. */
        if (have_next && have_off && id_same(next, off.id)) have_next = 0;
        if (have_next) {
            id_keep(&off, next);
            have_off = 1;
        }
        vs_result_free(r);
        r = NULL;
        if (!all || !have_next || rows == 0) break;
    }
    if (rc) {
        out_points_discard(&o);
        goto done;
    }
    out_points_end(&o);
    if (fmt == FMT_JSON) {
        fputs(",\n\"next_page_offset\":", stdout);
        if (have_next)
            out_id_json(stdout, off.id);
        else
            fputs("null", stdout);
        fputs("}\n", stdout);
    } else {
        FILE *f = fmt == FMT_TABLE ? stdout : stderr;
        fputs("next_page_offset: ", f);
        if (have_next)
            out_id_json(f, off.id);
        else
            fputs("null", f);
        fputc('\n', f);
    }
done:
    vs_result_free(r);
    vs_coll_close(c);
    vs_store_close(s);
    cli_args_free(&a);
    return cli_finish_stdout(rc);
}

/* ------------------------------------------------------------ payloads -- */

static const char set_payload_help[] =
    "usage: vecstore set-payload STORE COLL ID... --json '{...}' [--overwrite] [--str]\n"
    "                            [--fsync P]\n"
    "\n"
    "Merges the keys of the JSON object into the payload of each point (keys not in the\n"
    "object are kept), or with --overwrite replaces the payload by the object. Missing\n"
    "ids are ignored; stderr reports how many points were updated.\n";

static const cli_optspec set_payload_opts[] = {{"json", 0, OPT_VALUE}, {"overwrite", 0, OPT_FLAG},
                                               {"str", 0, OPT_FLAG},   {"fsync", 0, OPT_VALUE},
                                               {NULL, 0, 0}};

/* Opens STORE/COLL, parses the ids from a.pos[2..] and applies one payload operation. */
static int payload_apply(const cli_args *a, int op, const char *json) {
    vs_store *s = NULL;
    vs_coll *c = NULL;
    vs_id *ids = NULL;
    size_t n = 0;
    int rc = cli_parse_ids(a, 2, &ids, &n);
    if (rc) goto done;
    if ((rc = cli_open_both(a, CLI_OPEN_WRITE, &s, &c, NULL))) goto done;
    uint64_t updated = 0;
    int vrc = vs_set_payload(c, ids, n, op, json, &updated);
    if (vrc) {
        rc = cli_fail_coll(c, vrc);
        goto done;
    }
    report_ids("updated", updated, n);
done:
    vs_coll_close(c);
    vs_store_close(s);
    free(ids);
    return rc;
}

int cmd_set_payload(int argc, char **argv) {
    cli_args a;
    int rc = cli_parse(&a, argc, argv, set_payload_opts, set_payload_help);
    if (rc || a.help) goto done;
    if ((rc = cli_need_pos(&a, 3, -1, "STORE COLL ID..."))) goto done;
    const char *json = cli_opt(&a, "json");
    if (!json) {
        rc = cli_usage("give the payload with --json '{...}'");
        goto done;
    }
    if ((rc = cli_check_json("json", json, 1))) goto done;
    rc = payload_apply(&a, cli_has(&a, "overwrite") ? VS_PAYLOAD_OVERWRITE : VS_PAYLOAD_SET,
                       json);
done:
    cli_args_free(&a);
    return rc;
}

static const char delete_payload_help[] =
    "usage: vecstore delete-payload STORE COLL ID... (--keys K1,K2,... | --all) [--str]\n"
    "                               [--fsync P]\n"
    "\n"
    "Removes the listed top-level keys from the payload of each point, or with --all\n"
    "clears the payload to {}. Missing ids are ignored; stderr reports how many points\n"
    "were updated. (A key holding a comma cannot be named with --keys.)\n";

static const cli_optspec delete_payload_opts[] = {{"keys", 0, OPT_VALUE}, {"all", 0, OPT_FLAG},
                                                  {"str", 0, OPT_FLAG},   {"fsync", 0, OPT_VALUE},
                                                  {NULL, 0, 0}};

int cmd_delete_payload(int argc, char **argv) {
    cli_args a;
    txt_buf keys = {0};
    int rc = cli_parse(&a, argc, argv, delete_payload_opts, delete_payload_help);
    if (rc || a.help) goto done;
    if ((rc = cli_need_pos(&a, 3, -1, "STORE COLL ID..."))) goto done;
    const char *k = cli_opt(&a, "keys");
    int all = cli_has(&a, "all");
    if (!k == !all) {
        rc = cli_usage("give either --keys K1,K2,... or --all");
        goto done;
    }
    if (all) {
        rc = payload_apply(&a, VS_PAYLOAD_CLEAR, "{}");
        goto done;
    }
    /* "a,b" → ["a","b"]; empty names (",," or a trailing comma) are mistakes. */
    txt_putc(&keys, '[');
    for (const char *p = k;;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 0) {
            rc = cli_usage("--keys: empty key name in '%s'", k);
            goto done;
        }
        if (keys.len > 1) txt_putc(&keys, ',');
        txt_json_str(&keys, p, len);
        if (!e) break;
        p = e + 1;
    }
    txt_putc(&keys, ']');
    rc = payload_apply(&a, VS_PAYLOAD_DELETE, txt_cstr(&keys));
done:
    txt_free(&keys);
    cli_args_free(&a);
    return rc;
}
