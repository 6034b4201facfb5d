/*
 * cmd_geo.c — the geo commands: `vecstore nearest` (the points nearest a location, by
 * geodesic distance: vs_geo_nearest) and `vecstore geo-distance` (the distance between two
 * locations: vs_geo_distance).
 *
 * Coordinates are written LAT,LON in WGS84 degrees ("52.52,13.405"); their ranges (lat
 * -90..90, lon -180..180) are checked before the store is opened, so a typo is a usage
 * error (exit 2) that touches nothing. A negative latitude may be given as a positional
 * ("-33.87,151.21": cli_parse reads a dash followed by a digit as a positional).
 *
 * nearest prints through the same machinery as query (output.h): one array of {"id",
 * "score", "payload"[, "vector"]}, nearest first, the score being the distance in metres.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "output.h"

/* ------------------------------------------------------------ nearest --- */

static const char nearest_help[] =
    "usage: vecstore nearest STORE COLL --key PATH --origin LAT,LON [-k K]\n"
    "                        [--max-distance METRES] [--filter JSON | --where TEXT]\n"
    "                        [--with-vector] [--with-payload | --no-payload]\n"
    "                        [--format json|jsonl|table|csv]\n"
    "\n"
    "Prints the K points whose geo location at PATH is nearest the origin, nearest first;\n"
    "each score is the geodesic distance in metres (WGS84). A point holding several\n"
    "locations at PATH is as far as its nearest one; points without a valid location are\n"
    "left out. With a geo payload index on PATH (payload-index create PATH geo) the\n"
    "search expands over S2 cells; without one every payload is read. The answer is the\n"
    "same either way.\n"
    "\n"
    "  --key PATH            payload path of the locations ({\"lat\": …, \"lon\": …} objects,\n"
    "                        or arrays of them), e.g. location, shops[].pos\n"
    "  --origin LAT,LON      the origin in degrees, e.g. 52.52,13.405\n"
    "  -k, --k K             points to print, 1..100000 (default 10)\n"
    "  --max-distance M      only points within M metres (default: no limit)\n"
    "  --filter JSON         only points whose payload matches (Qdrant filter structure)\n"
    "  --where TEXT          the same in the text syntax, e.g.\n"
    "                        \"open = true AND location WITHIN 5 KM OF (52.52, 13.40)\"\n"
    "  --with-vector         include the stored vectors\n"
    "  --no-payload          leave out payloads (--with-payload, the default, keeps them)\n"
    "\n"
    "Opens the store read-only.\n";

static const cli_optspec nearest_opts[] = {
    {"key", 0, OPT_VALUE},          {"origin", 0, OPT_VALUE},   {"k", 'k', OPT_VALUE},
    {"max-distance", 0, OPT_VALUE}, {"filter", 0, OPT_VALUE},   {"where", 0, OPT_VALUE},
    {"with-vector", 0, OPT_FLAG},   {"with-payload", 0, OPT_FLAG}, {"no-payload", 0, OPT_FLAG},
    {"format", 0, OPT_VALUE},       {"read-only", 0, OPT_FLAG}, {NULL, 0, 0}};

int cmd_nearest(int argc, char **argv) {
    cli_args a;
    vs_store *s = NULL;
    vs_coll *c = NULL;
    vs_result *r = NULL;
    vs_coll_info in;
    int fmt;
    long long k;
    double maxd;
    vs_geo_query q;
    vs_geo_query_init(&q);
    int rc = cli_parse(&a, argc, argv, nearest_opts, nearest_help);
    if (rc || a.help) goto done;
    if ((rc = cli_need_pos(&a, 2, 2, "STORE COLL"))) goto done;
    const char *key = cli_opt(&a, "key"), *origin = cli_opt(&a, "origin");
    if (!key || !*key) {
        rc = cli_usage("--key PATH is required (the payload path of the locations)");
        goto done;
    }
    if (!origin) {
        rc = cli_usage("--origin LAT,LON is required");
        goto done;
    }
    if ((rc = cli_parse_latlon("--origin", origin, &q.lat, &q.lon))) goto done;
    if ((rc = cli_opt_int(&a, "k", 1, VS_K_MAX, 10, &k))) goto done;
    if ((rc = cli_opt_double(&a, "max-distance", -1, &maxd))) goto done;
    if (cli_has(&a, "max-distance") && maxd < 0) {
        rc = cli_usage("--max-distance must be >= 0 metres, got %s", cli_opt(&a, "max-distance"));
        goto done;
    }
    if ((rc = cli_get_format(&a, FMT_JSON, 0xF, &fmt))) goto done;
    const char *filter;
    if ((rc = cli_opt_filter(&a, &filter))) goto done;
    if (cli_has(&a, "with-payload") && cli_has(&a, "no-payload")) {
        rc = cli_usage("--with-payload and --no-payload contradict each other");
        goto done;
    }
    if ((rc = cli_open_both(&a, CLI_OPEN_READ, &s, &c, &in))) goto done;
    q.key = key;
    q.k = (uint32_t)k;
    q.max_distance = maxd;
    q.filter = filter;
    q.with = cli_with(&a);
    int vrc = vs_geo_nearest(c, &q, &r);
    if (vrc) {
        rc = cli_fail_coll(c, vrc);
        goto done;
    }
    out_points o;
    out_points_init(&o, fmt, &in, q.with);
    o.scores = 1;
    out_points_group(&o, r, 0, 0);
    out_points_finish(&o, CLI_OK);
done:
    vs_result_free(r);
    vs_coll_close(c);
    vs_store_close(s);
    cli_args_free(&a);
    return cli_finish_stdout(rc);
}

/* ------------------------------------------------------- geo-distance --- */

static const char geo_distance_help[] =
    "usage: vecstore geo-distance LAT1,LON1 LAT2,LON2 [--format table|json|csv]\n"
    "\n"
    "Prints the geodesic distance between two points on the WGS84 ellipsoid, in metres\n"
    "with three decimals (the distance nearest, geo_radius and --decay measure).\n"
    "Coordinates are degrees, e.g. vecstore geo-distance 52.52,13.405 48.8566,2.3522;\n"
    "json prints {\"metres\": …}.\n";

static const cli_optspec geo_distance_opts[] = {{"format", 0, OPT_VALUE}, {NULL, 0, 0}};

int cmd_geo_distance(int argc, char **argv) {
    cli_args a;
    int fmt;
    double lat1, lon1, lat2, lon2, m = 0;
    int rc = cli_parse(&a, argc, argv, geo_distance_opts, geo_distance_help);
    if (rc || a.help) goto done;
    if ((rc = cli_need_pos(&a, 2, 2, "LAT1,LON1 LAT2,LON2"))) goto done;
    if ((rc = cli_get_format(&a, FMT_TABLE, 0xF, &fmt))) goto done;
    if ((rc = cli_parse_latlon("first point", a.pos[0], &lat1, &lon1))) goto done;
    if ((rc = cli_parse_latlon("second point", a.pos[1], &lat2, &lon2))) goto done;
    int vrc = vs_geo_distance(lat1, lon1, lat2, lon2, &m);
    if (vrc) {
        rc = cli_fail("%s", vs_errstr(vrc));
        goto done;
    }
    if (fmt == FMT_JSON || fmt == FMT_JSONL)
        printf("{\"metres\":%.3f}\n", m);
    else if (fmt == FMT_CSV)
        printf("metres\n%.3f\n", m);
    else
        printf("%.3f\n", m);
done:
    cli_args_free(&a);
    return cli_finish_stdout(rc);
}
