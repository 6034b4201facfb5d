/*
 * fuzz_archive.c — an arbitrary file as a snapshot archive: verify and extract must
 * refuse anything malformed with a clean code, and extraction must never write outside
 * its destination (checked: the destination's parent holds nothing new).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "os/file.h"
#include "storage/archive.h"

static int entries(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) n += de->d_name[0] != '.';
    if (d) closedir(d);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char root[256];
    if (!root[0]) {
        snprintf(root, sizeof root, "/tmp/vs-fuzz-arc-%d", (int)getpid());
        vs__dir_make(root, NULL);
    }
    char path[300], dest[300];
    snprintf(path, sizeof path, "%s/a.vsnap", root);
    snprintf(dest, sizeof dest, "%s/out", root);
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    vs__err e;
    int rc = vs__archive_verify(path, &e);
    int rc2 = vs__archive_extract(path, dest, &e);
    if ((rc == VS_OK) != (rc2 == VS_OK) && rc2 != VS_ENOMEM) abort();
    if (rc2 != VS_OK && vs__path_exists(dest)) abort(); /* nothing left behind */
    vs__dir_remove_all(dest);
    unlink(path);
    if (entries(root) != 0) abort(); /* nothing escaped the destination */
    return 0;
}
