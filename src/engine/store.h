/*
 * store.h — the store: a directory of collections, shared per process, locked per
 * writer process.
 *
 * Directory layout (docs/format/store.md):
 *   VECSTORE          "VSSTORE1" frame, JSON {"format":1,"created":<unix seconds>} — marks a store
 *   LOCK              flock(LOCK_EX) held by the one writing process
 *   collections/NAME  one directory per collection (engine/collection.h)
 *
 * Within one process every vs_store_open of the same directory (same device and inode)
 * shares one core, found in a global registry; each vs_store/vs_coll handle only adds
 * its own error buffer. A core lives while any handle (store or collection) refers to
 * it. Another process that wants to write gets VS_EBUSY; read-only opens take no lock
 * and see the last durable state.
 *
 * Locking: registry_mu (global) → core->mu (collection table) → collection locks.
 */
#ifndef VS_ENGINE_STORE_H
#define VS_ENGINE_STORE_H

#include <pthread.h>
#include <sys/types.h>

#include "engine/collection.h"

typedef struct vs__store_core vs__store_core;

struct vs_store {
    vs__store_core *core;
    int read_only;
    vs__err err;
};

struct vs_coll {
    vs__store_core *core;
    vs__coll *c;
    int read_only;
    vs__err err;
};

/* Gets (opening if needed) a collection of the core; returns a new reference. */
int vs__store_coll(vs__store_core *core, const char *name, vs__coll **out, vs__err *e);
void vs__store_core_ref(vs__store_core *core);
void vs__store_core_unref(vs__store_core *core);
int vs__store_core_read_only(const vs__store_core *core);
/* 1 if the core runs a background thread that builds indexes. */
int vs__store_background(const vs__store_core *core);
const char *vs__store_colls_dir(const vs__store_core *core);
/* The core's table lock, for operations that change the set of collections. */
void vs__store_lock(vs__store_core *core);
void vs__store_unlock(vs__store_core *core);

#endif
