/*
 * profile.c — stage tree, timers and exports of the query profiler (see profile.h).
 *
 * Nodes live in one growing array; index 0 is the root ("query"), handles are indexes,
 * and children are linked first-child / next-sibling in creation order, so exports walk
 * them in the order the query ran them. Exports build text in a growing buffer (sb) that
 * records the first allocation failure and returns NULL at the end, so the formatting
 * code stays free of error plumbing.
 */
#include "query/profile.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/alloc.h"

typedef struct pnode {
    const char *name;
    char label[200];
    uint32_t parent, child, last, next; /* 0 = none (the root is never a child) */
    uint64_t t0, ns, calls, bytes, bytes0;
    uint64_t c[VS__PC_N];
} pnode;

struct vs__prof {
    pnode *n;
    uint32_t len, cap, cur;
    int truncated, finished;
};

static const char *const counter_names[VS__PC_N] = {"distances", "visited", "filter_evals",
                                                    "candidates", "rescored"};

uint64_t vs__prof_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

vs__prof *vs__prof_new(void) {
    vs__prof *p = vs__calloc(1, sizeof *p);
    if (!p) return NULL;
    p->cap = 32;
    if (!(p->n = vs__calloc(p->cap, sizeof *p->n))) {
        vs__free(p);
        return NULL;
    }
    p->len = 1;
    p->n[0].name = "query";
    p->n[0].calls = 1;
    p->n[0].t0 = vs__prof_now();
    p->n[0].bytes0 = vs__alloc_thread_bytes();
    return p;
}

void vs__prof_free(vs__prof *p) {
    if (!p) return;
    vs__free(p->n);
    vs__free(p);
}

void vs__prof_label(vs__prof *p, uint32_t node, const char *label) {
    if (!p || !node || !label) return;
    /* ';' separates frames in folded stacks */
    char *o = p->n[node].label;
    size_t i = 0;
    for (; label[i] && i + 1 < sizeof p->n[node].label; i++) o[i] = label[i] == ';' ? ',' : label[i];
    o[i] = 0;
}

uint32_t vs__prof_enter(vs__prof *p, const char *name, const char *label) {
    if (!p) return 0;
    if (p->len == p->cap) {
        pnode *nn = p->cap < (1u << 20) ? vs__realloc(p->n, 2 * (size_t)p->cap * sizeof *nn) : NULL;
        if (!nn) {
            p->truncated = 1;
            return 0;
        }
        p->n = nn;
        p->cap *= 2;
    }
    uint32_t i = p->len++;
    pnode *x = &p->n[i];
    memset(x, 0, sizeof *x);
    x->name = name;
    if (label) snprintf(x->label, sizeof x->label, "%s", label);
    x->parent = p->cur;
    pnode *par = &p->n[p->cur];
    if (par->last)
        p->n[par->last].next = i;
    else
        par->child = i;
    par->last = i;
    x->calls = 1;
    x->bytes0 = vs__alloc_thread_bytes();
    x->t0 = vs__prof_now();
    p->cur = i;
    return i;
}

void vs__prof_exit(vs__prof *p, uint32_t node) {
    if (!p || !node || node >= p->len) return;
    pnode *x = &p->n[node];
    x->ns += vs__prof_now() - x->t0;
    x->bytes += vs__alloc_thread_bytes() - x->bytes0;
    p->cur = x->parent;
}

void vs__prof_add(vs__prof *p, uint32_t node, int counter, uint64_t v) {
    if (!p || node >= p->len || counter < 0 || counter >= VS__PC_N) return;
    p->n[node].c[counter] += v;
}

void vs__prof_time(vs__prof *p, uint32_t node, uint64_t ns) {
    if (!p || node >= p->len) return;
    for (uint32_t i = node;; i = p->n[i].parent) { /* the enclosing stages include it */
        p->n[i].ns += ns;
        if (i == 0) break;
    }
}

void vs__prof_finish(vs__prof *p) {
    if (!p || p->finished) return;
    p->finished = 1;
    p->n[0].ns += vs__prof_now() - p->n[0].t0;
    p->n[0].bytes = vs__alloc_thread_bytes() - p->n[0].bytes0;
}

/* A profile exported before vs__prof_finish ends its root then. */
static void close_root(const vs__prof *cp) { vs__prof_finish((vs__prof *)cp); }

/* ------------------------------------------------------------ text out ---- */

typedef struct sb {
    char *s;
    size_t len, cap;
    int oom;
} sb;

__attribute__((format(printf, 2, 3))) static void sbf(sb *b, const char *fmt, ...) {
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t nc = (b->cap ? b->cap * 2 : 1024) + (size_t)n;
        char *ns = vs__realloc(b->s, nc);
        if (!ns) {
            b->oom = 1;
            return;
        }
        b->s = ns;
        b->cap = nc;
    }
}

static char *sb_done(sb *b) {
    if (b->oom || !b->s) {
        vs__free(b->s);
        return NULL;
    }
    return b->s;
}

/* Stage name and label as one string: "segment" + "3" → "segment 3". */
static void title(const pnode *x, char *out, size_t cap) {
    snprintf(out, cap, "%s%s%s", x->name, x->label[0] ? " " : "", x->label);
}

/* Escapes for JSON strings and XML text alike: titles come from our own names and labels
 * (ASCII), but labels may quote user input later, so escape everything special. */
static void esc(sb *b, const char *s, int xml) {
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (xml && (ch == '<' || ch == '>' || ch == '&' || ch == '"'))
            sbf(b, "&#%u;", ch);
        else if (!xml && (ch == '"' || ch == '\\'))
            sbf(b, "\\%c", ch);
        else if (ch < 0x20)
            sbf(b, xml ? " " : "\\u%04x", ch);
        else
            sbf(b, "%c", ch);
    }
}

static void json_node(const vs__prof *p, uint32_t i, sb *b, int depth) {
    const pnode *x = &p->n[i];
    char t[256];
    title(x, t, sizeof t);
    sbf(b, "{\"type\":\"");
    esc(b, x->name, 0);
    sbf(b, "\",\"description\":\"");
    esc(b, t, 0);
    sbf(b, "\",\"time_in_nanos\":%llu,\"count\":%llu,\"breakdown\":{", (unsigned long long)x->ns,
        (unsigned long long)x->calls);
    for (int c = 0; c < VS__PC_N; c++) sbf(b, "\"%s\":%llu,", counter_names[c], (unsigned long long)x->c[c]);
    sbf(b, "\"bytes_allocated\":%llu}", (unsigned long long)x->bytes);
    if (i == 0 && p->truncated) sbf(b, ",\"truncated\":true");
    sbf(b, ",\"children\":[");
    for (uint32_t k = x->child; k; k = p->n[k].next) {
        json_node(p, k, b, depth + 1);
        if (p->n[k].next) sbf(b, ",");
    }
    sbf(b, "]}");
}

char *vs__prof_json(const vs__prof *p) {
    if (!p) return NULL;
    close_root(p);
    sb b = {0};
    json_node(p, 0, &b, 0);
    return sb_done(&b);
}

static uint64_t self_ns(const vs__prof *p, uint32_t i) {
    uint64_t kids = 0;
    for (uint32_t k = p->n[i].child; k; k = p->n[k].next) kids += p->n[k].ns;
    return p->n[i].ns > kids ? p->n[i].ns - kids : 0;
}

static void folded_node(const vs__prof *p, uint32_t i, char *stack, size_t slen, sb *b) {
    char t[256];
    title(&p->n[i], t, sizeof t);
    for (char *c = t; *c; c++)
        if (*c == ';' || *c == '\n') *c = ','; /* ';' separates frames */
    int n = snprintf(stack + slen, 4096 - slen, "%s%s", slen ? ";" : "", t);
    size_t nl = n > 0 && slen + (size_t)n < 4096 ? slen + (size_t)n : slen;
    uint64_t us = (self_ns(p, i) + 500) / 1000;
    if (us > 0) sbf(b, "%s %llu\n", stack, (unsigned long long)us);
    for (uint32_t k = p->n[i].child; k; k = p->n[k].next) folded_node(p, k, stack, nl, b);
    stack[slen] = 0;
}

char *vs__prof_folded(const vs__prof *p) {
    if (!p) return NULL;
    close_root(p);
    sb b = {0};
    char stack[4096] = "";
    folded_node(p, 0, stack, 0, &b);
    if (!b.s) sbf(&b, "%s", ""); /* an empty profile is an empty text, not NULL */
    return sb_done(&b);
}

static void text_node(const vs__prof *p, uint32_t i, int depth, sb *b) {
    const pnode *x = &p->n[i];
    char t[256];
    title(x, t, sizeof t);
    sbf(b, "%*s%s%s  (time=%.3f ms", depth * 2, "", depth ? "-> " : "", t, (double)x->ns / 1e6);
    if (x->calls > 1) sbf(b, " loops=%llu", (unsigned long long)x->calls);
    for (int c = 0; c < VS__PC_N; c++)
        if (x->c[c]) sbf(b, " %s=%llu", counter_names[c], (unsigned long long)x->c[c]);
    if (x->bytes) sbf(b, " bytes=%llu", (unsigned long long)x->bytes);
    sbf(b, ")\n");
    for (uint32_t k = x->child; k; k = p->n[k].next) text_node(p, k, depth + 1, b);
}

char *vs__prof_text(const vs__prof *p) {
    if (!p) return NULL;
    close_root(p);
    sb b = {0};
    text_node(p, 0, 0, &b);
    if (p->truncated) sbf(&b, "(profile truncated: out of memory)\n");
    return sb_done(&b);
}

/* ----------------------------------------------------------------- svg ---- */

#define SVG_W 1200.0
#define SVG_ROW 18

static int max_depth(const vs__prof *p, uint32_t i) {
    int d = 0;
    for (uint32_t k = p->n[i].child; k; k = p->n[k].next) {
        int c = max_depth(p, k);
        if (c > d) d = c;
    }
    return d + 1;
}

/* Children are laid out left to right inside their parent, each as wide as its share of
 * the root's time; the root spans the width. Colours are a warm hash of the name so the
 * same stage has the same colour in every graph. */
static void svg_node(const vs__prof *p, uint32_t i, double x, double w, int depth, int rows, sb *b) {
    const pnode *n = &p->n[i];
    char t[256];
    title(n, t, sizeof t);
    unsigned h = 2166136261u;
    for (const char *c = n->name; *c; c++) h = (h ^ (unsigned char)*c) * 16777619u;
    int y = (rows - 1 - depth) * SVG_ROW + 24;
    sbf(b, "<g><title>");
    esc(b, t, 1);
    sbf(b, " (%.3f ms, %.1f%%)</title><rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" "
        "fill=\"rgb(%u,%u,%u)\" rx=\"2\"/>", (double)n->ns / 1e6,
        p->n[0].ns ? 100.0 * (double)n->ns / (double)p->n[0].ns : 0.0, x, y, w > 0.5 ? w - 0.5 : w,
        SVG_ROW - 1, 205 + h % 50, 80 + (h >> 8) % 120, 40 + (h >> 16) % 40);
    if (w > 40) {
        sbf(b, "<text x=\"%.2f\" y=\"%d\">", x + 3, y + SVG_ROW - 5);
        size_t fit = (size_t)((w - 6) / 7);
        if (fit < strlen(t)) t[fit > 2 ? fit - 2 : 0] = 0, strcat(t, "..");
        esc(b, t, 1);
        sbf(b, "</text>");
    }
    sbf(b, "</g>\n");
    double cx = x;
    for (uint32_t k = n->child; k; k = p->n[k].next) {
        double cw = p->n[0].ns ? SVG_W * (double)p->n[k].ns / (double)p->n[0].ns : 0;
        if (cx + cw > x + w) cw = x + w - cx; /* clock granularity: never spill out */
        if (cw > 0.1) svg_node(p, k, cx, cw, depth + 1, rows, b);
        cx += cw;
    }
}

char *vs__prof_svg(const vs__prof *p) {
    if (!p) return NULL;
    close_root(p);
    int rows = max_depth(p, 0);
    int h = rows * SVG_ROW + 30;
    sb b = {0};
    sbf(&b, "<?xml version=\"1.0\" standalone=\"no\"?>\n"
            "<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"Verdana,sans-serif\" font-size=\"12\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"#fdfdf6\"/>\n"
            "<text x=\"%d\" y=\"16\" text-anchor=\"middle\" font-size=\"15\">VecStore query "
            "profile: %.3f ms%s</text>\n",
            (int)SVG_W, h, (int)SVG_W, h, (int)SVG_W / 2, (double)p->n[0].ns / 1e6,
            p->truncated ? " (truncated)" : "");
    svg_node(p, 0, 0, SVG_W, 0, rows, &b);
    sbf(&b, "</svg>\n");
    return sb_done(&b);
}
