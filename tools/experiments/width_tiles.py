#!/usr/bin/env python3
"""Would tiling the ofmap width give VGG-16 Table VI's 156 active PEs?

The mappers do not search column tiles (`fw`, which a pinned mapping may
set). This experiment asks what the chip policy (`--objective chip`) and
the energy objective would choose if they could also cut a layer into `k`
equal column tiles of `f = F/k` ofmap columns, each processed as a layer
of its own. A tile is exactly such a
layer: it reads the real input columns its `f` ofmap columns need, with
padding only where the layer's own padding lies, and all tiles run the
mapping chosen for the first middle tile (the first tile when `k <= 2`).
Each tile is evaluated by the analytic model (`eyesim estimate`); a 1x1
pool before it gives it RLC-coded input (except for a network's first
layer) and one after it the next layer's ofmap sparsity, as in the traces.
Loop order: column tiles outermost, so filters are read again per tile.
The chip policy judges DRAM on the dense layer, so the script reports
both the sparse and the dense DRAM words. The results are in
docs/silicon.md ("Width tiling, tested").

Usage: tools/experiments/width_tiles.py [path/to/eyesim]
"""

import csv
import subprocess
import sys
import tempfile
from pathlib import Path

# name: (batch, C, H = W, M, kernel, stride, padding, groups, ifmap zeros,
# next layer's ifmap zeros, reads the network input), as in
# traces/vgg16.toml and traces/alexnet.toml (JSSC 2017 Tables V and VI).
LAYERS = {
    "conv1_1": (3, 3, 224, 64, 3, 1, 1, 1, 0.016, 0.477, True),
    "conv1_2": (3, 64, 224, 64, 3, 1, 1, 1, 0.477, 0.248, False),
    "conv2_1": (3, 64, 112, 128, 3, 1, 1, 1, 0.248, 0.387, False),
    "conv2_2": (3, 128, 112, 128, 3, 1, 1, 1, 0.387, 0.397, False),
    "conv3_1": (3, 128, 56, 256, 3, 1, 1, 1, 0.397, 0.581, False),
    "conv3_2": (3, 256, 56, 256, 3, 1, 1, 1, 0.581, 0.587, False),
    "conv3_3": (3, 256, 56, 256, 3, 1, 1, 1, 0.587, 0.643, False),
    "conv4_1": (3, 256, 28, 512, 3, 1, 1, 1, 0.643, 0.747, False),
    "conv4_2": (3, 512, 28, 512, 3, 1, 1, 1, 0.747, 0.854, False),
    "conv4_3": (3, 512, 28, 512, 3, 1, 1, 1, 0.854, 0.794, False),
    "conv5_1": (3, 512, 14, 512, 3, 1, 1, 1, 0.794, 0.874, False),
    "conv5_2": (3, 512, 14, 512, 3, 1, 1, 1, 0.874, 0.885, False),
    "conv5_3": (3, 512, 14, 512, 3, 1, 1, 1, 0.885, 0.885, False),
    "conv1": (4, 3, 227, 96, 11, 4, 0, 1, 0.0001, 0.387, True),
    "conv2": (4, 96, 27, 256, 5, 1, 2, 2, 0.387, 0.725, False),
    "conv3": (4, 256, 13, 384, 3, 1, 1, 1, 0.725, 0.793, False),
}


def tiles(w, r, u, pad, k):
    """(real input columns, left pad, right pad, count) of `k` equal tiles."""
    f_all = (w + 2 * pad - r) // u + 1
    f = f_all // k
    out = []
    for i in range(k):
        lo = i * f * u - pad  # first input column, padded coordinates shifted
        hi = lo + (f - 1) * u + r  # one past the last
        left, right = max(0, -lo), max(0, hi - w)
        out.append((min(hi, w) - max(lo, 0), left, right))
    merged = {}
    for t in out:
        merged[t] = merged.get(t, 0) + 1
    # The first middle tile (or the first) leads.
    lead = out[1] if k > 2 else out[0]
    return [(lead, merged.pop(lead))] + list(merged.items())


def trace(name, spec, width, left, right):
    batch, c, h, m, r, u, pad, groups, z, z_next, first = spec
    pool = 'kind = "maxpool"\nkernel = 1\nstride = 1\n'
    text = f'[network]\nname = "wt"\nbatch = {batch}\ninput = [{c}, {h}, {width}]\n'
    if not first:
        text += f'[[layer]]\nname = "pre"\n{pool}ifmap_zero_fraction = {z}\n'
    text += (
        f'[[layer]]\nname = "{name}"\nkind = "conv"\nfilters = {m}\nkernel = {r}\n'
        f"stride = {u}\npadding = [{pad}, {pad}, {left}, {right}]\ngroups = {groups}\n"
        f"ifmap_zero_fraction = {z}\n"
        f'[[layer]]\nname = "post"\n{pool}ifmap_zero_fraction = {z_next}\n'
    )
    return text


def estimate(binary, work, name, text, objective, mapping=None, dense=False):
    """DRAM words, active PEs, energy, cycles, mapping and mapping file."""
    net = work / "t.toml"
    net.write_text(text)
    out = work / "out"
    cmd = [binary, "estimate", "--net", str(net), "--objective", objective]
    cmd += ["--out", str(out)]
    if mapping:
        cmd += ["--mapping", str(mapping)]
    if dense:
        cmd += ["--dense"]
    subprocess.run(cmd, check=True, capture_output=True)
    with open(out / "accesses.csv") as f:
        dram = sum(
            int(r["reads"]) + int(r["writes"])
            for r in csv.DictReader(f)
            if r["layer"] == name and r["level"] == "dram"
        )
    with open(out / "layers.csv") as f:
        row = next(r for r in csv.DictReader(f) if r["layer"] == name)
    keep = work / "mapping.toml"
    if mapping is None:
        # The chosen mappings, for the other tiles to pin (a pinned run
        # leaves them as they are).
        keep.write_text((out / "mappings.toml").read_text())
    return dram, int(row["active_pes"]), float(row["energy"]), int(row["cycles"]), row["mapping"], keep


def tiled(binary, work, name, k, objective):
    """The layer cut into `k` column tiles: DRAM words on the sparse layer
    and on the dense one (what the chip policy judges), active PEs,
    energy, cycles and mapping."""
    spec = LAYERS[name]
    _, _, h, _, r, u, pad, *_ = spec
    parts = [(trace(name, spec, w, lp, rp), n) for (w, lp, rp), n in tiles(h, r, u, pad, k)]
    _, pes, _, _, mp, pinned = estimate(binary, work, name, parts[0][0], objective)
    totals = [0, 0, 0.0, 0]
    for text, n in parts:
        d, _, e, cyc, _, _ = estimate(binary, work, name, text, objective, pinned)
        dd = estimate(binary, work, name, text, objective, pinned, dense=True)[0]
        totals = [totals[0] + d * n, totals[1] + dd * n, totals[2] + e * n, totals[3] + cyc * n]
    return totals[0], totals[1], pes, totals[2], totals[3], mp


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/eyesim"
    print("objective,layer,k,f,dram_words,dense_dram_words,active_pes,energy,cycles,mapping")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for objective in ("chip", "energy"):
            for name, spec in LAYERS.items():
                _, _, h, _, r, u, pad, *_ = spec
                f_all = (h + 2 * pad - r) // u + 1
                for k in range(1, f_all // 7 + 1):
                    if f_all % k:
                        continue
                    d, dd, pes, e, cyc, mp = tiled(binary, work, name, k, objective)
                    print(f"{objective},{name},{k},{f_all // k},{d},{dd},{pes},{e:.6e},{cyc},{mp}", flush=True)


if __name__ == "__main__":
    main()
