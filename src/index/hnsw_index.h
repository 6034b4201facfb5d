/*
 * hnsw_index.h — what a sealed segment's vector field carries as its index: an HNSW
 * graph (index/hnsw.h) and, when the field is quantized, the quantizer and one code per
 * row (index/quant.h). Built by the background indexer, saved next to the segment's
 * files, loaded with mmap; attached to the segment as its vs__seg_index.
 *
 * QUANTIZED SEARCH (Qdrant's "search the codes, rescore with the originals")
 *   The graph is built on the float rows (its links are as good as unquantized ones);
 *   a query walks it comparing code scores, which reads code_size bytes per visited row
 *   instead of 4 dim (int8: dim + 4 for l2; PQ: m; binary: dim / 8). The beam it keeps
 *   is max(ef, k x oversampling); then every allowed row of that beam is scored again
 *   with its float row (mmap'd from the segment, so it needs no RAM of its own and can
 *   stay on disk) and the best k are returned with exact scores. Rescoring can be
 *   switched off per query (the code scores are returned then) and quantization can be
 *   ignored per query (the graph is walked with the float rows).
 *
 * FILES in the segment directory, for field f: hnsw-<f> (the graph), and for a quantized
 * field quant-<f> (the quantizer) and qcodes-<f> (the codes, tied to that quantizer by
 * its id). All three are derived data: a missing or damaged one makes the loader fail
 * and the caller rebuild the whole index.
 *
 * Training: one quantizer per segment, trained on a deterministic sample of that
 * segment's rows (Qdrant also quantizes per segment). A segment therefore adapts to its
 * data, and compaction retrains on the merged rows.
 */
#ifndef VS_INDEX_HNSW_INDEX_H
#define VS_INDEX_HNSW_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "index/hnsw.h"
#include "index/quant.h"
#include "util/err.h"

typedef struct vs__hnsw_index {
    vs__hnsw *g;
    size_t n;              /* rows of the segment */
    vs__quant *qz;         /* NULL: not quantized */
    const uint8_t *codes;  /* rows x code_size (into `map` or `owned`) */
    size_t code_size;
    vs__quant_codes map;   /* codes loaded from a file */
    uint8_t *owned;        /* codes built here (until saved and reloaded) */
} vs__hnsw_index;

/* What to quantize with: type VS_QUANT_NONE for none. */
typedef struct vs__hnsw_index_params {
    vs__hnsw_params hnsw;
    int quant;     /* enum vs_quant */
    uint32_t pq_m; /* VS_QUANT_PQ */
} vs__hnsw_index_params;

/* Builds the graph over rows [0, n) of base (skip as vs__hnsw_build) and, if asked,
 * trains the quantizer on a sample of the rows and encodes all of them. */
int vs__hnsw_index_build(const float *base, size_t n, size_t dim, int kind,
                         const vs__hnsw_index_params *p, const uint64_t *skip,
                         vs__hnsw_index **out, vs__err *e);
/* An empty growing graph with no quantizer (the mutable segment's index; hnsw.h,
 * "growing graphs"): rows are added with vs__hnsw_grow_* and vs__hnsw_insert on x->g. */
int vs__hnsw_index_new_growing(size_t dim, int kind, const vs__hnsw_params *p,
                               vs__hnsw_index **out, vs__err *e);
/* A finished index over the finished graph of `from` (every one of the segment's n rows
 * inserted, vs__hnsw_finish done), quantized if p asks: the graph moves to *out
 * (from->g becomes NULL) only on success. */
int vs__hnsw_index_adopt(vs__hnsw_index *from, const float *base, size_t n, size_t dim, int kind,
                         const vs__hnsw_index_params *p, vs__hnsw_index **out, vs__err *e);
/* Saves the files above into dir for field f (each one atomically; the graph last, so a
 * crash in between leaves no graph and the index is rebuilt). */
int vs__hnsw_index_save(const vs__hnsw_index *x, const char *dir, uint32_t f, vs__err *e);
/* Loads field f's index from dir for a segment of n rows; quant is what the schema
 * asks for (a quantizer of another type is VS_ECORRUPT). VS_ENOTFOUND if the graph file
 * does not exist. */
int vs__hnsw_index_load(const char *dir, uint32_t f, size_t n, int quant, uint32_t pq_m,
                        vs__hnsw_index **out, vs__err *e);
/* Removes the files of field f's index from dir (best effort). */
void vs__hnsw_index_unlink(const char *dir, uint32_t f);
void vs__hnsw_index_free(vs__hnsw_index *x);
/* Bytes held in memory (graph + quantizer + codes). */
size_t vs__hnsw_index_memory(const vs__hnsw_index *x);
/* Graph invariants (vs__hnsw_validate) and, if quantized, the codes' shape. */
int vs__hnsw_index_validate(const vs__hnsw_index *x, vs__err *e);

#endif
