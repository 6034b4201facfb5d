#!/usr/bin/python3
"""evaluate.py — turns the drivers' raw outputs into the ANN benchmark's results.

usage: evaluate.py RESULT_DIR...      (one directory per data set, as bench-ann.sh lays out)

Each RESULT_DIR holds dataset.json (name, base, query, gt, gt_dist paths, written by the
runner), for each system TAG.t2.json (built on 2 threads, then the ef sweep) and
TAG.t1.json (built on 1 thread, no sweep), TAG.efEF.ivecs (the sweep's ids), and
TAG.status when a system could not be measured (its text says why).

RECALL
  recall@10 counts, per query, the returned ids whose exact (float64) L2 distance to the
  query is within the 10th true neighbour's distance (x (1 + 1e-6)), divided by 10, and is
  averaged over all queries: the ann-benchmarks definition, which does not punish a
  system for returning one of several points at the same distance. recall10_ids (the
  plain id overlap with the true top-10) is given too.

WRITES
  RESULT_DIR/results.csv    one row per system and ef (recall, QPS, latencies, build)
  RESULT_DIR/results.json   the same, plus build/memory/index figures per system
  RESULT_DIR/recall_qps.png recall@10 (x) vs QPS (y, log), one line per system
  the parent of the first RESULT_DIR: summary.json and summary.md (the targets table)
and prints the targets table.

TARGETS (VecStore vs native hnswlib, both at M and efConstruction alike; the HNSW issue's)
  QPS at recall@10 = 0.95 and 0.99, read off each system's recall/QPS frontier (the
  sweep's points that no other point beats on both; log QPS interpolated linearly in
  recall between the two points that bracket the target): VecStore / hnswlib >= 1.2 at
  0.95 and >= 1.0 at 0.99. Build time on 2 threads <= 1.0x hnswlib's; VecStore's own
  build speed-up from 1 to 2 threads >= 1.7x; index bytes per vector <= 1.1x hnswlib's.
  Reported without a goal: the 1-thread build ratio, hnswlib's speed-up and the peak
  build memory ratio. (Edit TARGETS / BUILD_TARGETS when the issue's goals change.)
"""
import csv
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import annio  # noqa: E402

K = 10
TARGETS = [(0.95, 1.2), (0.99, 1.0)]  # (recall@10, least QPS ratio VecStore / hnswlib)


def _fig(s, t, key):
    j = s.get(f"t{t}")
    return j.get(key) if j else None


def _ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


# (name, f(vecstore, hnswlib) -> ratio, goal as (">=" | "<=", value) or None)
BUILD_TARGETS = [
    ("build time, 2 threads, VecStore / hnswlib",
     lambda v, h: _ratio(_fig(v, 2, "build_s"), _fig(h, 2, "build_s")), ("<=", 1.0)),
    ("build time, 1 thread, VecStore / hnswlib",
     lambda v, h: _ratio(_fig(v, 1, "build_s"), _fig(h, 1, "build_s")), None),
    ("VecStore build speed-up, 1 -> 2 threads",
     lambda v, h: _ratio(_fig(v, 1, "build_s"), _fig(v, 2, "build_s")), (">=", 1.7)),
    ("(hnswlib build speed-up, 1 -> 2 threads)",
     lambda v, h: _ratio(_fig(h, 1, "build_s"), _fig(h, 2, "build_s")), None),
    ("index bytes per vector, VecStore / hnswlib",
     lambda v, h: _ratio(_fig(v, 2, "index_bytes"), _fig(h, 2, "index_bytes")), ("<=", 1.1)),
    ("peak build memory, 2 threads, VecStore / hnswlib",
     lambda v, h: _ratio(_fig(v, 2, "build_mem_bytes"), _fig(h, 2, "build_mem_bytes")), None),
]
ORDER = ["vecstore", "vecstore-int8", "vecstore-pq", "vecstore-binary", "hnswlib", "faiss",
         "hnswlib-py"]
LABEL = {"vecstore": "VecStore HNSW", "hnswlib": "hnswlib (native, -O3 -march=native)",
         "faiss": "faiss IndexHNSWFlat (Debian)", "hnswlib-py": "hnswlib (Debian Python)",
         "vecstore-int8": "VecStore HNSW + int8, rescored",
         "vecstore-pq": "VecStore HNSW + PQ (dim/4 bytes), rescored",
         "vecstore-binary": "VecStore HNSW + binary, rescored"}
# Quantized variants against the float index on the same data: memory and recall loss.
# (tag, memory goal as a ratio of VecStore float's bytes/vector or None, recall loss goal)
QUANT_TARGETS = [("vecstore-int8", 0.35, 0.01), ("vecstore-pq", None, 0.01)]


def order_key(t):
    if t in ORDER:
        return ORDER.index(t)
    if t.startswith("vecstore-pq"):
        return ORDER.index("vecstore-pq")
    return 99


def recall_loss(v, q):
    """Recall@10 lost by quantized run q against float run v at the same ef: the largest
    and the mean loss over the ef values both swept, and the largest over those where
    the float index reaches 0.9 (where a user would run it)."""
    fv = {e["ef"]: e["recall10"] for e in v["t2"]["search"]}
    losses = [(e["ef"], fv[e["ef"]] - e["recall10"], fv[e["ef"]])
              for e in q["t2"]["search"] if e["ef"] in fv]
    if not losses:
        return None
    hi = [x for x in losses if x[2] >= 0.9]
    return {"max": max(x[1] for x in losses), "mean": sum(x[1] for x in losses) / len(losses),
            "max_at_0.9": max(x[1] for x in hi) if hi else None,
            "per_ef": {str(ef): round(l, 5) for ef, l, _ in losses}}


def recall(xb, xq, gt, gd, ids):
    ids = ids[:, :K]
    valid = ids >= 0
    safe = np.where(valid, ids, 0)
    dist = np.empty(ids.shape)
    for i0 in range(0, xq.shape[0], 2000):
        q = xq[i0:i0 + 2000].astype(np.float64)
        v = xb[safe[i0:i0 + 2000]].astype(np.float64)
        dist[i0:i0 + 2000] = np.sqrt(((v - q[:, None, :]) ** 2).sum(-1))
    th = gd[:, K - 1].astype(np.float64) * (1 + 1e-6) + 1e-6
    hit = (dist <= th[:, None]) & valid
    r = float(hit.sum(1).mean() / K)
    r_ids = float(np.mean([len(set(a[v]) & set(g)) for a, v, g in
                           zip(ids, valid, gt[:, :K])]) / K)
    return r, r_ids


def frontier(points):
    """points: (recall, qps); the Pareto frontier sorted by recall."""
    pts = sorted(points, key=lambda p: (-p[1], -p[0]))
    out, best_r = [], -1.0
    for r, q in pts:  # by QPS descending: keep a point if its recall beats all faster ones
        if r > best_r:
            out.append((r, q))
            best_r = r
    return sorted(out)


def qps_at(points, target):
    """(qps, how): how is 'interp', 'min' (every point is above the target: the fastest
    point's QPS, a lower bound) or None (target not reached)."""
    f = frontier(points)
    if not f or f[-1][0] < target:
        return None, None
    if f[0][0] >= target:
        return max(q for r, q in f), "min"
    for (r0, q0), (r1, q1) in zip(f, f[1:]):
        if r0 <= target <= r1:
            if r1 == r0:
                return q1, "interp"
            t = (target - r0) / (r1 - r0)
            return math.exp(math.log(q0) + t * (math.log(q1) - math.log(q0))), "interp"
    return None, None


def load(path):
    with open(path) as f:
        return json.load(f)


def evaluate_dir(d):
    ds = load(os.path.join(d, "dataset.json"))
    xb, xq = annio.read_f32(ds["base"]), annio.read_f32(ds["query"])
    gt, gd = annio.read_ivecs(ds["gt"]), annio.read_fvecs(ds["gt_dist"])
    systems = {}
    tags = sorted({f.split(".")[0] for f in os.listdir(d)
                   if f.endswith((".t1.json", ".t2.json", ".status"))},
                  key=order_key)
    for tag in tags:
        s = {"tag": tag, "label": LABEL.get(tag, LABEL.get("vecstore-pq") if tag.startswith(
            "vecstore-pq") else tag)}
        if tag.startswith("vecstore-pq") and tag != "vecstore-pq":
            s["label"] = f"VecStore HNSW + PQ ({tag[11:]} bytes), rescored"
        st = os.path.join(d, f"{tag}.status")
        if os.path.exists(st):
            with open(st) as f:
                s["status"] = f.read().strip()
        for t in (1, 2):
            p = os.path.join(d, f"{tag}.t{t}.json")
            if os.path.exists(p):
                s[f"t{t}"] = load(p)
                env = os.path.join(d, f"{tag}.t{t}.env")
                if os.path.exists(env) and "cpu_s" in s[f"t{t}"]:
                    with open(env) as f:
                        kv = dict(line.strip().split("=", 1) for line in f if "=" in line)
                    busy, wall = float(kv["busy_s"]), float(kv["wall_s"])
                    # CPU the rest of the machine used while this run went on.
                    s[f"t{t}"]["other_cores"] = round(
                        max(0.0, busy - s[f"t{t}"]["cpu_s"]) / max(wall, 1e-9), 3)
        if "t2" in s:
            for e in s["t2"]["search"]:
                ids = annio.read_ivecs(os.path.join(d, e["ids"]))
                e["recall10"], e["recall10_ids"] = recall(xb, xq, gt, gd, ids)
            pts = [(e["recall10"], e["qps"]) for e in s["t2"]["search"]]
            s["qps_at"] = {}
            for target, _ in TARGETS:
                q, how = qps_at(pts, target)
                s["qps_at"][str(target)] = {"qps": q, "how": how}
        systems[tag] = s
    res = {"dataset": ds, "systems": systems}
    write_outputs(d, ds, systems)
    with open(os.path.join(d, "results.json"), "w") as f:
        json.dump(res, f, indent=2)
    return res


def build_fig(s, t, key):
    j = s.get(f"t{t}")
    return j.get(key) if j else None


def write_outputs(d, ds, systems):
    cols = ["system", "ef", "recall10", "recall10_ids", "qps", "lat_mean_us", "lat_p50_us",
            "lat_p99_us", "qps_loop", "build_s_t1", "build_s_t2", "build_mem_mb_t1",
            "build_mem_mb_t2", "index_bytes_per_vector", "n", "dim", "nq", "m",
            "ef_construction"]
    with open(os.path.join(d, "results.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for tag, s in systems.items():
            if "t2" not in s:
                w.writerow([tag, "pending" if "status" in s else ""] + [""] * (len(cols) - 2))
                continue
            j = s["t2"]
            for e in j["search"]:
                mem = [build_fig(s, t, "build_mem_bytes") for t in (1, 2)]
                w.writerow([tag, e["ef"], f"{e['recall10']:.5f}", f"{e['recall10_ids']:.5f}",
                            e["qps"], e["lat_mean_us"], e["lat_p50_us"], e["lat_p99_us"],
                            e.get("qps_loop", ""), build_fig(s, 1, "build_s") or "",
                            j["build_s"], "" if mem[0] is None else round(mem[0] / 2**20, 1),
                            round(mem[1] / 2**20, 1), round(j["index_bytes"] / j["n"], 1),
                            j["n"], j["dim"], j["nq"], j["m"], j["ef_construction"]])
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("evaluate: no matplotlib (apt-get install -y python3-matplotlib); no plot",
              file=sys.stderr)
        return
    fig, ax = plt.subplots(figsize=(8, 5.5))
    style = {"vecstore": ("C3", "o", "-"), "hnswlib": ("C0", "s", "-"),
             "faiss": ("C2", "^", "-"), "hnswlib-py": ("C0", "x", ":"),
             "vecstore-int8": ("C1", "D", "--"), "vecstore-pq": ("C4", "v", "--"),
             "vecstore-binary": ("C5", "P", "--")}
    for tag, s in systems.items():
        if "t2" not in s:
            continue
        es = sorted(s["t2"]["search"], key=lambda e: e["ef"])
        c, mk, ls = style.get("vecstore-pq" if tag.startswith("vecstore-pq") else tag,
                              ("C7", ".", "-"))
        ax.plot([e["recall10"] for e in es], [e["qps"] for e in es], color=c, marker=mk,
                linestyle=ls, label=s["label"])
        for e in es[:: max(1, len(es) // 4)]:
            ax.annotate(f"ef={e['ef']}", (e["recall10"], e["qps"]), fontsize=6,
                        textcoords="offset points", xytext=(3, 3), color=c)
    for target, _ in TARGETS:
        ax.axvline(target, color="0.8", linewidth=0.8, zorder=0)
    pend = [s["label"] for s in systems.values() if "t2" not in s]
    any_s = next((s["t2"] for s in systems.values() if "t2" in s), None)
    title = ds["name"]
    if any_s:
        title += (f"\nn={any_s['n']:,}, d={any_s['dim']}, {any_s['nq']:,} queries, "
                  f"M={any_s['m']}, efC={any_s['ef_construction']}, k={K}, 1 search thread")
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("recall@10")
    ax.set_ylabel("queries per second (1 thread, log)")
    ax.set_yscale("log")
    ax.grid(True, which="both", linewidth=0.3)
    ax.legend(fontsize=8, title=("pending: " + ", ".join(pend)) if pend else None,
              title_fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(d, "recall_qps.png"), dpi=120)
    plt.close(fig)


def fmt(x, spec="{:,.0f}"):
    return "—" if x is None else spec.format(x)


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def summarize(results, root):
    lines, summary = [], {"datasets": []}
    for res in results:
        ds, systems = res["dataset"], res["systems"]
        ent = {"dataset": ds["name"], "systems": {}, "targets": {}}
        lines.append(f"### {ds['name']}")
        lines.append("")
        lines.append("| system | QPS @ R=0.95 | QPS @ R=0.99 | max recall@10 | build 1 thr (s) "
                     "| build 2 thr (s) | speed-up | build peak mem (MiB) | index bytes/vector |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for tag, s in systems.items():
            if "t2" not in s:
                why = s.get("status", "not run")
                lines.append(f"| {s['label']} | pending | pending | — | — | — | — | — | — |")
                ent["systems"][tag] = {"pending": why}
                continue
            j = s["t2"]
            q95, q99 = (s["qps_at"][str(t)] for t, _ in TARGETS)
            b1 = build_fig(s, 1, "build_s")
            mem = j["build_mem_bytes"] / 2**20
            bpv = j["index_bytes"] / j["n"]
            maxr = max(e["recall10"] for e in j["search"])

            def q(x):
                return ("≥ " if x["how"] == "min" else "") + fmt(x["qps"])
            lines.append(f"| {s['label']} | {q(q95)} | {q(q99)} | {maxr:.4f} | "
                         f"{fmt(b1, '{:.1f}')} | {j['build_s']:.1f} | "
                         f"{fmt(ratio(b1, j['build_s']), '{:.2f}x')} | {mem:,.0f} | {bpv:,.0f} |")
            ent["systems"][tag] = {"qps_at_0.95": q95, "qps_at_0.99": q99, "max_recall10": maxr,
                                   "build_s_t1": b1, "build_s_t2": j["build_s"],
                                   "build_mem_bytes_t2": j["build_mem_bytes"],
                                   "build_mem_bytes_t1": build_fig(s, 1, "build_mem_bytes"),
                                   "index_bytes_per_vector": bpv, "n": j["n"], "dim": j["dim"],
                                   "nq": j["nq"]}
        lines.append("")
        noisy = [f"{tag} ({t} thr): {s[f't{t}']['other_cores']:.2f}"
                 for tag, s in systems.items() for t in (1, 2)
                 if s.get(f"t{t}", {}).get("other_cores", 0) > 0.1]
        if noisy:
            lines.append("Other processes were busy during some runs (cores used by others, "
                         "on average over the run): " + "; ".join(noisy) + ".")
            lines.append("")
        ent["interference"] = {f"{tag}.t{t}": s[f"t{t}"].get("other_cores")
                               for tag, s in systems.items() for t in (1, 2) if f"t{t}" in s}
        v, h = systems.get("vecstore"), systems.get("hnswlib")
        lines.append("| target (VecStore vs native hnswlib) | ratio | goal | verdict |")
        lines.append("|---|---:|---:|---|")
        have_v = bool(v and "t2" in v)
        have_h = bool(h and "t2" in h)
        rows = []
        for t, goal in TARGETS:
            name = f"QPS at recall@10 = {t}, VecStore / hnswlib"
            if not have_v or not have_h:
                rows.append((name, None, (">=", goal), "pending (VecStore HNSW not available)"
                             if not have_v else "no hnswlib figures"))
                continue
            a, b = v["qps_at"][str(t)], h["qps_at"][str(t)]
            r = ratio(a["qps"], b["qps"])
            if r is None:
                rows.append((name, None, (">=", goal), "not reached by " + (
                    "VecStore" if a["qps"] is None else "hnswlib")))
                continue
            bound = " (a bound: one side is above the target at its lowest ef)" \
                if "min" in (a["how"], b["how"]) else ""
            rows.append((name, r, (">=", goal), ("PASS" if r >= goal else "FAIL") + bound))
        for name, fn, goal in BUILD_TARGETS:
            if not have_v or not have_h:
                rows.append((name, None, goal, "pending" if not have_v else "no hnswlib figures"))
                continue
            r = fn(v, h)
            if r is None:
                rows.append((name, None, goal, "not measured (no 1-thread build)"))
            elif goal is None:
                rows.append((name, r, None, "for reference" if "speed-up" in name
                             else "lower is better"))
            else:
                ok = r >= goal[1] if goal[0] == ">=" else r <= goal[1]
                rows.append((name, r, goal, "PASS" if ok else "FAIL"))
        for name, r, goal, verdict in rows:
            g = "—" if goal is None else ("≥ " if goal[0] == ">=" else "≤ ") + str(goal[1])
            lines.append(f"| {name} | {fmt(r, '{:.2f}')} | {g} | {verdict} |")
            ent["targets"][name] = {"ratio": r, "goal": None if goal is None else list(goal),
                                    "verdict": verdict}
        lines.append("")
        # Quantization: each quantized variant against VecStore's float index.
        qrows = []
        for qtag, s in systems.items():
            if not qtag.startswith("vecstore-") or "t2" not in s or not have_v:
                continue
            goal = next(((m, l) for t, m, l in QUANT_TARGETS
                         if qtag == t or (t == "vecstore-pq" and qtag.startswith(t))), None)
            mem = ratio(s["t2"]["index_bytes"], v["t2"]["index_bytes"])
            loss = recall_loss(v, s)
            ent["quantization"] = ent.get("quantization", {})
            ent["quantization"][qtag] = {"memory_ratio": mem, "recall_loss": loss}
            mgoal = goal[0] if goal else None
            mv = "—" if mgoal is None else ("PASS" if mem is not None and mem <= mgoal else "FAIL")
            qrows.append(f"| {s['label']}: memory per vector / VecStore float | "
                         f"{fmt(mem, '{:.2f}')} | {'—' if mgoal is None else '≤ ' + str(mgoal)} "
                         f"| {mv} |")
            if loss:
                lgoal = goal[1] if goal else None
                lv = "—" if lgoal is None else ("PASS" if loss["max"] <= lgoal + 1e-12 else
                                                 "FAIL")
                qrows.append(f"| {s['label']}: recall@10 loss at the same ef, largest over "
                             f"the sweep (mean {loss['mean']:.4f}; largest where float ≥ 0.9: "
                             f"{fmt(loss['max_at_0.9'], '{:.4f}')}) | {loss['max']:.4f} | "
                             f"{'—' if lgoal is None else '≤ ' + str(lgoal)} | {lv} |")
            for t, _ in TARGETS:
                a, b = s["qps_at"][str(t)], (h["qps_at"][str(t)] if have_h else None)
                r = ratio(a["qps"], b["qps"]) if b else None
                qrows.append(f"| {s['label']}: QPS at recall@10 = {t} / hnswlib | "
                             f"{fmt(r, '{:.2f}')} | — | for reference |")
        if qrows:
            lines.append("| quantization (vs VecStore float, same run) | ratio | goal | verdict |")
            lines.append("|---|---:|---:|---|")
            lines.extend(qrows)
            lines.append("")
        summary["datasets"].append(ent)
    text = "\n".join(lines)
    with open(os.path.join(root, "summary.md"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(root, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    return text


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: evaluate.py RESULT_DIR...")
    results = [evaluate_dir(d) for d in sys.argv[1:]]
    root = os.path.dirname(os.path.abspath(sys.argv[1]))
    print(summarize(results, root))
    for d in sys.argv[1:]:
        print(f"\nper ef: {os.path.join(d, 'results.csv')}  plot: "
              f"{os.path.join(d, 'recall_qps.png')}")


if __name__ == "__main__":
    main()
