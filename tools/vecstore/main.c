/*
 * main.c — entry point of the `vecstore` command-line tool: global options, the command
 * table, and the exit-status contract (0 ok, 1 error, 2 usage; see cli.h).
 *
 *   vecstore [--format F] [--fsync P] COMMAND [ARGS] [OPTIONS]
 *
 * Global options only set defaults: `--format json` before the command means "json for
 * every command that can print json"; a command that prints nothing ignores it, while
 * the same option given after such a command is a usage error. This keeps aliases such
 * as `alias vs='vecstore --format jsonl'` usable with every command.
 *
 * Each command lives in a cmd_*.c file and parses its own arguments with cli_parse, so
 * its --help text sits next to the code that implements it.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"create", cmd_create, "create a collection (and the store if missing)"},
    {"import", cmd_import, "load points from .jsonl, .csv, .npy or .fvecs"},
    {"query", cmd_query, "nearest neighbours of one vector or a file of vectors"},
    {"nearest", cmd_nearest, "points nearest a location (geodesic distance)"},
    {"geo-distance", cmd_geo_distance, "the geodesic distance between two locations"},
    {"get", cmd_get, "points by id"},
    {"delete", cmd_delete, "delete points by id"},
    {"count", cmd_count, "count points, optionally matching a filter"},
    {"scroll", cmd_scroll, "page through points in id order"},
    {"set-payload", cmd_set_payload, "merge or replace the payload of points"},
    {"delete-payload", cmd_delete_payload, "remove payload keys of points"},
    {"info", cmd_info, "describe a store or a collection"},
    {"list", cmd_list, "list the collections of a store"},
    {"drop", cmd_drop, "delete a collection"},
    {"flush", cmd_flush, "seal the mutable segment and checkpoint the WAL"},
    {"compact", cmd_compact, "merge segments and purge deleted points"},
    {"payload-index", cmd_payload_index, "create, drop or list payload indexes"},
    {"snapshot", cmd_snapshot, "write a collection to an archive file"},
    {"restore", cmd_restore, "create a collection from an archive file"},
    {"check", cmd_check, "verify every checksum of a store"},
    {"serve", cmd_serve, "serve a store over HTTP (Qdrant-compatible REST API)"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f) {
    fputs("usage: vecstore [--format table|json|jsonl|csv] [--fsync always|batch|off]\n"
          "                COMMAND [ARGS] [OPTIONS]\n"
          "       vecstore --version | --help | COMMAND --help\n"
          "\n"
          "VecStore is an embeddable vector database; a store is a directory that holds\n"
          "named collections of points (id, vectors, JSON payload).\n"
          "\n"
          "Commands:\n",
          f);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-15s %s\n", commands[i].name, commands[i].summary);
    fputs("\n"
          "Global options (defaults for every command that accepts them):\n"
          "  --format F   output format: table (default for info, list, count, check,\n"
          "               geo-distance), json (default for query, nearest, get, scroll),\n"
          "               jsonl, csv\n"
          "  --fsync P    durability of write commands: always (default), batch, off\n"
          "\n"
          "Exit status: 0 success, 1 error, 2 usage error. Data is written to stdout;\n"
          "progress, summaries and errors to stderr. See docs/cli.md for details.\n",
          f);
}

int main(int argc, char **argv) {
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return cli_finish_stdout(CLI_OK);
        }
        if (!strcmp(a, "--version") || !strcmp(a, "-V")) {
            printf("vecstore %s (library %s, distance kernels: %s)\n", VS_VERSION_STRING,
                   vs_version(), vs_simd_name());
            return cli_finish_stdout(CLI_OK);
        }
        const char **slot = NULL;
        const char *name = NULL;
        if (!strncmp(a, "--format", 8) && (a[8] == 0 || a[8] == '='))
            slot = &cli_global_format, name = "--format";
        else if (!strncmp(a, "--fsync", 7) && (a[7] == 0 || a[7] == '='))
            slot = &cli_global_fsync, name = "--fsync";
        if (slot) {
            const char *eq = strchr(a, '=');
            if (eq) {
                *slot = eq + 1;
            } else if (i + 1 < argc) {
                *slot = argv[++i];
            } else {
                fprintf(stderr, "vecstore: option '%s' needs a value\n", name);
                return CLI_USAGE;
            }
            continue;
        }
        if (a[0] == '-') {
            fprintf(stderr, "vecstore: unknown option '%s'\nTry 'vecstore --help'.\n", a);
            return CLI_USAGE;
        }
        break;
    }
    if (cli_global_format && strcmp(cli_global_format, "table") &&
        strcmp(cli_global_format, "json") && strcmp(cli_global_format, "jsonl") &&
        strcmp(cli_global_format, "csv")) {
        fprintf(stderr, "vecstore: --format: expected table, json, jsonl or csv, got '%s'\n",
                cli_global_format);
        return CLI_USAGE;
    }
    if (i >= argc) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *cmd = argv[i];
    if (!strcmp(cmd, "help")) {
        if (i + 1 >= argc) {
            usage(stdout);
            return cli_finish_stdout(CLI_OK);
        }
        /* "vecstore help import" is "vecstore import --help". */
        for (size_t k = 0; k < NCOMMANDS; k++)
            if (!strcmp(commands[k].name, argv[i + 1])) {
                char *sub[] = {argv[i + 1], "--help", NULL};
                cli_cmdname = commands[k].name;
                return commands[k].fn(2, sub);
            }
        fprintf(stderr, "vecstore: unknown command '%s'\nTry 'vecstore --help'.\n", argv[i + 1]);
        return CLI_USAGE;
    }
    for (size_t k = 0; k < NCOMMANDS; k++)
        if (!strcmp(commands[k].name, cmd)) {
            cli_cmdname = commands[k].name;
            return commands[k].fn(argc - i, argv + i);
        }
    fprintf(stderr, "vecstore: unknown command '%s'\nTry 'vecstore --help'.\n", cmd);
    return CLI_USAGE;
}
