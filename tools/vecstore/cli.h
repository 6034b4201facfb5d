/*
 * cli.h — what the modules of the `vecstore` command-line tool share.
 *
 * The tool is a thin client of include/vecstore.h (like LMDB's mdb_stat/mdb_dump): it
 * never reaches into the library's private headers, so anything it cannot do through the
 * public API is a gap in that API, not something to patch around with internals.
 *
 * Layout of the tool (folders are layers, files are phases):
 *   main.c        dispatch, global usage, --version, global options
 *   cli.c         this header: argv parsing, argument validation, error reporting,
 *                 opening stores/collections, id parsing, small allocation helpers
 *   cmd_admin.c   create, list, info, drop, flush, compact, snapshot, restore, check
 *   cmd_points.c  get, delete, count, scroll, set-payload, delete-payload
 *   cmd_query.c   query (with --decay: hybrid geo + vector ranking)
 *   cmd_geo.c     nearest (points by geodesic distance), geo-distance
 *   cmd_serve.c   serve (the HTTP server of vecstore_server.h)
 *   cmd_import.c  import (two passes: validate everything, then upsert in batches)
 *   reader*.c     streaming file readers (jsonl, csv, npy, fvecs), one per format
 *   output.c      formatters: JSON/JSONL/CSV/table for results and key-value reports
 *   text.c        UTF-8, JSON number grammar, raw JSON member spans, growable buffers
 *   progress.c    the stderr progress bar (only when stderr is a terminal)
 *
 * Conventions every command follows:
 *   - Exit status: CLI_OK (0) success, CLI_ERR (1) the operation failed, CLI_USAGE (2)
 *     the command line was wrong (checked before the store is touched where possible).
 *   - Data goes to stdout; progress, summaries and errors to stderr. Errors read
 *     "vecstore: <command>: <message>", the message coming from vs_store_errmsg(),
 *     vs_coll_errmsg() or vs_errstr() so that users see the library's own wording.
 *   - Out-of-memory in the tool itself ends the process with status 1 (cli_xmalloc):
 *     a command-line tool has nothing sensible to fall back to, and threading ENOMEM
 *     through every formatter would hide the logic. The library is held to a stricter
 *     rule (no abort, every failure returned); the tool is not a library.
 */
#ifndef VS_CLI_H
#define VS_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vecstore.h"

#define CLI_OK 0
#define CLI_ERR 1
#define CLI_USAGE 2

/* Output formats. A command states which it accepts as a bit set of (1u << FMT_x). */
enum cli_format { FMT_TABLE = 0, FMT_JSON = 1, FMT_JSONL = 2, FMT_CSV = 3 };
#define FMT_BIT(f) (1u << (f))

/* ------------------------------------------------------------ argv ------ */

enum cli_optkind {
    OPT_FLAG = 0,  /* --name */
    OPT_VALUE = 1, /* --name VALUE or --name=VALUE; the last one wins */
    OPT_MULTI = 2  /* like OPT_VALUE but repeatable; every occurrence is kept */
};

typedef struct cli_optspec {
    const char *name; /* long name without the dashes */
    char shortname;   /* single-letter alias ("-k 5"), or 0 */
    int kind;         /* enum cli_optkind */
} cli_optspec;

typedef struct cli_seen {
    const cli_optspec *spec;
    const char *value; /* "" for flags; points into argv */
} cli_seen;

/* Parsed command line of one command. Pointers point into argv (which outlives it). */
typedef struct cli_args {
    int help;      /* --help was given: the command prints its help and returns 0 */
    int npos;
    char **pos;    /* positional arguments, in order */
    int nseen;
    cli_seen *seen; /* options, in order */
} cli_args;

/* Parses argv[1..argc-1] (argv[0] is the command name) against specs, which ends with a
 * {NULL} entry. --help/-h is understood by every command: it prints help (the command's
 * usage text) to stdout and sets a->help. "--" ends the options (so a string id may
 * start with '-'). Returns CLI_OK or, after printing the message, CLI_USAGE.
 * Free with cli_args_free (also after a failure). */
int cli_parse(cli_args *a, int argc, char **argv, const cli_optspec *specs, const char *help);
void cli_args_free(cli_args *a);
/* The last value of an option, "" for a flag that is present, NULL if absent. */
const char *cli_opt(const cli_args *a, const char *name);
int cli_has(const cli_args *a, const char *name);
/* Every value of a repeatable option: *n of them, in order, in a malloc'd array. */
const char **cli_opt_all(const cli_args *a, const char *name, size_t *n);

/* Checks the number of positionals; prints a usage error naming what is missing. */
int cli_need_pos(const cli_args *a, int min, int max, const char *what);

/* ------------------------------------------------------------ globals --- */

/* The command being run, for messages ("import"); set by main before dispatch. */
extern const char *cli_cmdname;
/* Global options given before the command: defaults for the commands that accept them. */
extern const char *cli_global_format;
extern const char *cli_global_fsync;

/* ------------------------------------------------------------ errors ---- */

/* Prints "vecstore: <cmd>: <message>" and a --help hint; returns CLI_USAGE. */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "vecstore: <cmd>: <message>"; returns CLI_ERR. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "vecstore: <cmd>: <message>" without changing the exit status (notes). */
void cli_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Reports a library failure with the handle's message (or vs_errstr(rc) when the
 * handle has none); returns CLI_ERR. */
int cli_fail_store(vs_store *s, int rc);
int cli_fail_coll(vs_coll *c, int rc);

/* Allocation that cannot fail: on out-of-memory prints a message and exits 1. */
void *cli_xmalloc(size_t n);
void *cli_xcalloc(size_t n, size_t size);
void *cli_xrealloc(void *p, size_t n);
char *cli_xstrdup(const char *s);

/* ------------------------------------------------------------ values ---- */

/* Parses an unsigned decimal integer (digits only, no sign or spaces) that fits in
 * uint64_t. Returns 0 on success, -1 otherwise. */
int cli_parse_u64(const char *s, size_t len, uint64_t *out);
/* Parses option `opt`'s value as an integer in [min, max]; usage error otherwise.
 * Accepts a leading '-' so that "-k -1" gets a range message, not a syntax one. */
int cli_opt_int(const cli_args *a, const char *opt, long long min, long long max,
                long long deflt, long long *out);
/* Parses option `opt`'s value as a finite number (deflt when absent); usage error
 * otherwise. Ranges are the caller's to check. */
int cli_opt_double(const cli_args *a, const char *opt, double deflt, double *out);
/* Parses "LAT,LON" (WGS84 degrees, lat in -90..90, lon in -180..180: the ranges of
 * vs_geo_distance); what names the argument in the usage error ("--origin"). */
int cli_parse_latlon(const char *what, const char *s, double *lat, double *lon);
/* Parses an id argument: a token of only digits is a numeric id (it must fit in 64
 * bits), anything else a string id; force_str makes every token a string id. The id
 * borrows s. Returns CLI_OK or a usage error. */
int cli_parse_id(const char *s, int force_str, vs_id *out);
/* Parses positionals [first, npos) as ids (--str honoured) into a malloc'd array. */
int cli_parse_ids(const cli_args *a, int first, vs_id **ids, size_t *n);
/* Checks that an option's text is JSON (an object when want_object); usage error if not. */
int cli_check_json(const char *opt, const char *text, int want_object);
/* Reads --filter into *filter (NULL when absent); a usage error if it is not a JSON object. */
int cli_opt_filter(const cli_args *a, const char **filter);
/* Parses a JSON array of finite numbers into a malloc'd float vector. */
int cli_parse_vector(const char *opt, const char *text, float **v, uint32_t *dim);
/* The VS_WITH_* bits that --no-payload and --with-vector ask for (payload by default). */
int cli_with(const cli_args *a);
/* Picks the output format: --format, else the global one, else deflt; it must be in
 * allowed (FMT_BIT set). */
int cli_get_format(const cli_args *a, int deflt, unsigned allowed, int *fmt);

/* ------------------------------------------------------------ stores ---- */

enum cli_open_mode {
    CLI_OPEN_READ = 0,   /* read_only = 1; the store must exist */
    CLI_OPEN_WRITE = 1,  /* writable; the store must exist */
    CLI_OPEN_CREATE = 2  /* writable; created if missing */
};
/* Opens a store honouring --fsync; prints the error and returns CLI_ERR/CLI_USAGE. */
int cli_open_store(const cli_args *a, const char *path, int mode, vs_store **out);
/* Opens a collection; prints the store's error message on failure. */
int cli_open_coll(vs_store *s, const char *name, vs_coll **out);
/* Opens STORE (a->pos[0]) and COLL (a->pos[1]), then reads the collection's info into
 * *in unless in is NULL; prints the error. The caller closes *s and *c even on failure. */
int cli_open_both(const cli_args *a, int mode, vs_store **s, vs_coll **c, vs_coll_info *in);
/* Finds a vector field by name (NULL = the only field); prints the error. */
int cli_find_field(const vs_coll_info *info, const char *name, uint32_t *fi);

/* Flushes stdout and turns a failed write (EPIPE, ENOSPC) into CLI_ERR. */
int cli_finish_stdout(int rc);
/* Seconds on a monotonic clock. */
double cli_now(void);

/* ------------------------------------------------------------ commands -- */

/* Every command takes argv[0] = its own name and returns an exit status. */
int cmd_create(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_query(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_count(int argc, char **argv);
int cmd_scroll(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_drop(int argc, char **argv);
int cmd_flush(int argc, char **argv);
int cmd_compact(int argc, char **argv);
int cmd_payload_index(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_set_payload(int argc, char **argv);
int cmd_delete_payload(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_nearest(int argc, char **argv);
int cmd_geo_distance(int argc, char **argv);

#endif
