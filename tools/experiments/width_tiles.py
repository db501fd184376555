#!/usr/bin/env python3
"""Would tiling the ofmap width give VGG-16 Table VI's 156 active PEs?

eyesim's passes span the whole ofmap width. This experiment asks what the
chip policy (`--objective chip`) and the energy objective would choose if a
layer could also be cut into `k` column tiles of `f = F/k` ofmap columns,
each processed as a layer of its own. A tile is exactly such a layer: the
middle tiles read `f + 2` real input columns with no side padding, the
first and last read `f + 1` with one padding column, and all tiles run the
mapping chosen for a middle tile. Each tile is evaluated by the analytic
model (`eyesim estimate`), between two 1x1 pools that give it the network's
RLC-coded input and the next layer's ofmap sparsity, as in the VGG-16
trace. Loop order: column tiles outermost, so filters are read again per
tile. The results are in docs/silicon.md ("Width tiling, tested").

Usage: tools/experiments/width_tiles.py [path/to/eyesim]
"""

import csv
import subprocess
import sys
import tempfile
from pathlib import Path

# name: (C, H = W, M, ifmap zero fraction, next layer's ifmap zero fraction)
# as in traces/vgg16.toml (JSSC 2017 Table VI).
LAYERS = {
    "conv1_1": (3, 224, 64, 0.016, 0.477),
    "conv1_2": (64, 224, 64, 0.477, 0.248),
    "conv2_1": (64, 112, 128, 0.248, 0.387),
    "conv2_2": (128, 112, 128, 0.387, 0.397),
    "conv3_1": (128, 56, 256, 0.397, 0.581),
}
BATCH = 3


def trace(name, c, h, w, pad, m, z, z_next):
    pool = 'kind = "maxpool"\nkernel = 1\nstride = 1\n'
    return (
        f'[network]\nname = "wt"\nbatch = {BATCH}\ninput = [{c}, {h}, {w}]\n'
        f'[[layer]]\nname = "pre"\n{pool}ifmap_zero_fraction = {z}\n'
        f'[[layer]]\nname = "{name}"\nkind = "conv"\nfilters = {m}\n'
        f"kernel = 3\npadding = {pad}\nifmap_zero_fraction = {z}\n"
        f'[[layer]]\nname = "post"\n{pool}ifmap_zero_fraction = {z_next}\n'
    )


def estimate(binary, work, name, text, objective, mapping=None):
    """DRAM words, active PEs, energy, cycles and mapping of `name`."""
    net = work / "t.toml"
    net.write_text(text)
    out = work / "out"
    cmd = [binary, "estimate", "--net", str(net), "--objective", objective]
    cmd += ["--out", str(out)]
    if mapping:
        cmd += ["--mapping", str(mapping)]
    subprocess.run(cmd, check=True, capture_output=True)
    dram = sum(
        int(r["reads"]) + int(r["writes"])
        for r in csv.DictReader(open(out / "accesses.csv"))
        if r["layer"] == name and r["level"] == "dram"
    )
    row = next(r for r in csv.DictReader(open(out / "layers.csv")) if r["layer"] == name)
    keep = work / "mapping.toml"
    keep.write_text((out / "mappings.toml").read_text())
    return dram, int(row["active_pes"]), float(row["energy"]), int(row["cycles"]), row["mapping"], keep


def tiled(binary, work, name, k, objective):
    c, h, m, z, z_next = LAYERS[name]
    f = h // k
    if k == 1:
        d, pes, e, cyc, mp, _ = estimate(binary, work, name, trace(name, c, h, h, 1, m, z, z_next), objective)
        return d, pes, e, cyc, mp
    # The middle tile chooses; the edge tiles run its mapping.
    mid = trace(name, c, h, f + 2, "[1, 1, 0, 0]", m, z, z_next)
    d, pes, e, cyc, mp, pinned = estimate(binary, work, name, mid, objective)
    totals = [d * (k - 2), e * (k - 2), cyc * (k - 2)]
    for pad in ("[1, 1, 1, 0]", "[1, 1, 0, 1]"):
        edge = trace(name, c, h, f + 1, pad, m, z, z_next)
        de, _, ee, ce, _, _ = estimate(binary, work, name, edge, objective, pinned)
        totals = [totals[0] + de, totals[1] + ee, totals[2] + ce]
    return totals[0], pes, totals[1], totals[2], mp


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/eyesim"
    print("objective,layer,k,f,dram_words,active_pes,energy,cycles,mapping")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for objective in ("chip", "energy"):
            for name, (_, h, _, _, _) in LAYERS.items():
                for k in (1, 2, 4, 7, 8, 14, 16, 28, 32):
                    if h % k or h // k < 7:
                        continue
                    d, pes, e, cyc, mp = tiled(binary, work, name, k, objective)
                    print(f"{objective},{name},{k},{h // k},{d},{pes},{e:.6e},{cyc},{mp}", flush=True)


if __name__ == "__main__":
    main()
