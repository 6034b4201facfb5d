#!/usr/bin/python3
"""Generates examples/sample.jsonl: 1,000 products in 8 clusters (16-d), deterministic.

The quickstart imports this file. Vectors are cluster centre + noise, so nearest
neighbours are meaningful (a query near a cluster's centre returns that cluster's
products); payloads carry a category, a price and tags for filter demos."""
import json
import random

CATS = ["books", "music", "garden", "kitchen", "toys", "sports", "tools", "games"]
rnd = random.Random(20261125)
centres = [[rnd.gauss(0, 1) for _ in range(16)] for _ in CATS]
with open("examples/sample.jsonl", "w") as f:
    for i in range(1000):
        c = i % len(CATS)
        v = [round(x + rnd.gauss(0, 0.25), 4) for x in centres[c]]
        p = {"name": f"{CATS[c]}-item-{i}", "category": CATS[c],
             "price": round(rnd.uniform(1, 100), 2),
             "tags": rnd.sample(["new", "sale", "popular", "eco", "gift"], 2)}
        f.write(json.dumps({"id": i, "vector": v, "payload": p}, separators=(",", ":")) + "\n")
with open("examples/centres.json", "w") as f:
    json.dump({c: [round(x, 4) for x in centres[i]] for i, c in enumerate(CATS)}, f)
