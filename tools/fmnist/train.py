#!/usr/bin/env python3
"""Pure-NumPy trainer for a small AlexNet-shaped CNN on Fashion-MNIST, exported
to ONNX (opset 13: Conv, Relu, MaxPool, Flatten, Gemm) for eyesim.

Subcommands (see tools/fmnist/README.md):
  train     full training from a fixed seed, writes an ONNX model
  finetune  re-trains an ONNX model of the same architecture with weight masks
            held fixed (for pruned models)
  eval      accuracies (NumPy and onnxruntime), per-layer zero fractions, and
            optionally the 1k-image test subset plus its float reference

Data: the official Fashion-MNIST IDX files (Debian package
dataset-fashion-mnist, /usr/share/datasets/fashion-mnist/). Training uses the
first 55,000 training images, validation the last 5,000, test the 10k t10k set.
Pixels are float32 in [0, 1] (uint8 / 255), no mean/std normalization.
"""

import os

# One BLAS thread: keeps a core free and makes the float results reproducible.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import gzip  # noqa: E402
import math  # noqa: E402
import struct  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

DEFAULT_DATA = os.environ.get("FMNIST_DIR", "/usr/share/datasets/fashion-mnist")
N_TRAIN = 55_000  # first 55k training images train, the last 5k validate
N_SUBSET = 1_000  # first 1k t10k images form the committed subset
N_VAL_SUBSET = 5_000  # the whole validation split (train 55,000-59,999): eyesim prune's default validation set
F32 = np.float32

# ---------------------------------------------------------------------------
# Architecture. Conv layers are 3x3, stride 1, pad 1; "pool" means a 2x2/2 max
# pool after the ReLU (floor mode, so 7x7 -> 3x3).
CONVS = [  # name, in channels, out channels, followed by a pool
    ("conv1", 1, 32, True),
    ("conv2", 32, 64, True),
    ("conv3", 64, 64, False),
    ("conv4", 64, 64, True),
]
FCS = [  # name, inputs, outputs, followed by a ReLU
    ("fc5", 64 * 3 * 3, 128, True),
    ("fc6", 128, 10, False),
]
K = 3  # conv kernel size
IMG = 28


def param_shapes():
    """Initializer name -> shape, in ONNX layout (Conv OIHW, Gemm B as out x in)."""
    shapes = {}
    for name, cin, cout, _ in CONVS:
        shapes[name + ".weight"] = (cout, cin, K, K)
        shapes[name + ".bias"] = (cout,)
    for name, nin, nout, _ in FCS:
        shapes[name + ".weight"] = (nout, nin)
        shapes[name + ".bias"] = (nout,)
    return shapes


def layer_table():
    """Rows (layer, op, output shape CxHxW, weights, biases, MACs per image)."""
    rows = []
    h = IMG
    for name, cin, cout, pool in CONVS:
        w = cout * cin * K * K
        rows.append((name, f"conv {K}x{K}/1 pad 1, {cin}->{cout}, +ReLU",
                     f"{cout}x{h}x{h}", w, cout, w * h * h))
        if pool:
            h //= 2
            rows.append(("pool" + name[-1], "maxpool 2x2/2", f"{cout}x{h}x{h}", 0, 0, 0))
    for name, nin, nout, relu in FCS:
        rows.append((name, f"fc {nin}->{nout}" + (", +ReLU" if relu else " (logits)"),
                     f"{nout}", nin * nout, nout, nin * nout))
    return rows


# ---------------------------------------------------------------------------
# Data


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    (magic,) = struct.unpack(">I", data[:4])
    if magic >> 8 != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file (magic {magic:#010x})")
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, np.uint8, offset=4 + 4 * ndim)
    if arr.size != math.prod(dims):
        raise ValueError(f"{path}: {arr.size} bytes of data for dimensions {dims}")
    return arr.reshape(dims)


def write_idx(path, arr):
    """Writes an unsigned-byte IDX file, gzip-compressed with mtime 0 and no
    file name, so the bytes depend only on the data (and zlib)."""
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    header = struct.pack(">I", 0x0800 | arr.ndim) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as f:
            f.write(header)
            f.write(arr.tobytes())


def write_val_subset(data_dir, out_dir):
    """Writes v5k-{images,labels}: the N_VAL_SUBSET images of the
    validation split (training images 55,000-59,999, never trained on)."""
    xtr = read_idx(os.path.join(data_dir, "train-images-idx3-ubyte.gz"))
    ytr = read_idx(os.path.join(data_dir, "train-labels-idx1-ubyte.gz"))
    sl = slice(N_TRAIN, N_TRAIN + N_VAL_SUBSET)
    for kind, arr in (("images-idx3", xtr[sl]), ("labels-idx1", ytr[sl])):
        path = os.path.join(out_dir, f"v5k-{kind}-ubyte.gz")
        write_idx(path, arr)
        assert np.array_equal(read_idx(path), arr)


def to_input(images_u8):
    """uint8 [N, 28, 28] -> float32 [N, 1, 28, 28] in [0, 1]."""
    return (images_u8.astype(F32) / F32(255.0))[:, None, :, :]


def load_data(data_dir):
    def p(name):
        return os.path.join(data_dir, name)

    xtr = read_idx(p("train-images-idx3-ubyte.gz"))
    ytr = read_idx(p("train-labels-idx1-ubyte.gz"))
    xte = read_idx(p("t10k-images-idx3-ubyte.gz"))
    yte = read_idx(p("t10k-labels-idx1-ubyte.gz"))
    assert xtr.shape == (60_000, IMG, IMG) and ytr.shape == (60_000,), (xtr.shape, ytr.shape)
    assert xte.shape == (10_000, IMG, IMG) and yte.shape == (10_000,), (xte.shape, yte.shape)
    return {
        "train": (xtr[:N_TRAIN], ytr[:N_TRAIN].astype(np.int64)),
        "val": (xtr[N_TRAIN:], ytr[N_TRAIN:].astype(np.int64)),
        "test": (xte, yte.astype(np.int64)),
        "test_u8": (xte, yte),
    }


# ---------------------------------------------------------------------------
# Model. Parameters are kept in ONNX layout (so masks apply directly); the
# forward pass works in NHWC with im2col + GEMM.


def init_params(rng):
    params = {}
    for name, shape in param_shapes().items():
        if name.endswith(".bias"):
            params[name] = np.zeros(shape, F32)
            continue
        fan_in = math.prod(shape[1:])
        gain = 1.0 if name.startswith(FCS[-1][0]) else 2.0  # He init before a ReLU
        params[name] = (rng.standard_normal(shape) * math.sqrt(gain / fan_in)).astype(F32)
    return params


def conv_w_gemm(w):
    """OIHW -> (kh*kw*cin, cout), matching the im2col column order."""
    cout, cin, kh, kw = w.shape
    return np.ascontiguousarray(w.transpose(2, 3, 1, 0).reshape(kh * kw * cin, cout))


def conv_grad_onnx(g, cin, cout):
    """(kh*kw*cin, cout) -> OIHW."""
    return np.ascontiguousarray(g.reshape(K, K, cin, cout).transpose(3, 2, 0, 1))


def im2col(x):
    """NHWC, 3x3 pad 1 -> [N, H, W, 9*C] (column order kh, kw, c)."""
    n, h, w, c = x.shape
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    return np.concatenate([xp[:, i:i + h, j:j + w, :] for i in range(K) for j in range(K)], axis=-1)


def col2im(dcols, c):
    n, h, w, _ = dcols.shape
    d = dcols.reshape(n, h, w, K, K, c)
    dxp = np.zeros((n, h + 2, w + 2, c), F32)
    for i in range(K):
        for j in range(K):
            dxp[:, i:i + h, j:j + w, :] += d[:, :, :, i, j, :]
    return dxp[:, 1:-1, 1:-1, :]


def pool_forward(x):
    n, h, w, c = x.shape
    h2, w2 = h // 2, w // 2
    r = x[:, :2 * h2, :2 * w2, :].reshape(n, h2, 2, w2, 2, c).transpose(0, 1, 3, 5, 2, 4)
    r = r.reshape(n, h2, w2, c, 4)
    idx = r.argmax(axis=-1)
    out = np.take_along_axis(r, idx[..., None], axis=-1)[..., 0]
    return out, (idx, x.shape)


def pool_backward(dout, cache):
    idx, (n, h, w, c) = cache
    h2, w2 = h // 2, w // 2
    dr = np.zeros((n, h2, w2, c, 4), F32)
    np.put_along_axis(dr, idx[..., None], dout[..., None], axis=-1)
    dr = dr.reshape(n, h2, w2, c, 2, 2).transpose(0, 1, 4, 2, 5, 3).reshape(n, 2 * h2, 2 * w2, c)
    if (2 * h2, 2 * w2) != (h, w):
        dr = np.pad(dr, ((0, 0), (0, h - 2 * h2), (0, w - 2 * w2), (0, 0)))
    return dr


def forward(params, x_nchw, train=False, taps=None):
    """Returns logits [N, 10] (and the backward cache if train). taps, if a
    dict, receives every intermediate activation in NCHW (or N x F)."""
    x = np.ascontiguousarray(x_nchw.transpose(0, 2, 3, 1))  # NHWC
    cache = []
    if taps is not None:
        taps["input"] = x_nchw
    for name, cin, cout, pool in CONVS:
        n, h, w, _ = x.shape
        cols = im2col(x)
        wg = conv_w_gemm(params[name + ".weight"])
        y = cols.reshape(-1, K * K * cin) @ wg
        y += params[name + ".bias"]
        y = np.maximum(y, 0, out=y).reshape(n, h, w, cout)
        layer = {"cols": cols if train else None, "wg": wg, "relu": y > 0 if train else None}
        if taps is not None:
            taps["relu" + name[-1]] = y.transpose(0, 3, 1, 2)
        if pool:
            y, layer["pool"] = pool_forward(y)
            if taps is not None:
                taps["pool" + name[-1]] = y.transpose(0, 3, 1, 2)
        cache.append(layer)
        x = y
    n = x.shape[0]
    a = np.ascontiguousarray(x.transpose(0, 3, 1, 2)).reshape(n, -1)  # ONNX Flatten order (C, H, W)
    if taps is not None:
        taps["flatten"] = a
    fc_cache = []
    for name, _, _, relu in FCS:
        z = a @ params[name + ".weight"].T
        z += params[name + ".bias"]
        if relu:
            z = np.maximum(z, 0, out=z)
            if taps is not None:
                taps["relu" + name[-1]] = z
        fc_cache.append((a, z > 0 if relu else None))
        a = z
    if taps is not None:
        taps["logits"] = a
    if train:
        return a, (cache, fc_cache, x.shape)
    return a


def backward(params, dlogits, caches):
    cache, fc_cache, pool_shape = caches
    grads = {}
    d = dlogits
    for (name, _, _, relu), (a, mask) in zip(reversed(FCS), reversed(fc_cache)):
        if relu:
            d = d * mask
        grads[name + ".weight"] = d.T @ a
        grads[name + ".bias"] = d.sum(axis=0)
        d = d @ params[name + ".weight"]
    n, h, w, c = pool_shape
    d = np.ascontiguousarray(d.reshape(n, c, h, w).transpose(0, 2, 3, 1))
    for li in range(len(CONVS) - 1, -1, -1):
        name, cin, cout, pool = CONVS[li]
        layer = cache[li]
        if pool:
            d = pool_backward(d, layer["pool"])
        d = d * layer["relu"]
        d2 = d.reshape(-1, cout)
        cols2 = layer["cols"].reshape(-1, K * K * cin)
        grads[name + ".weight"] = conv_grad_onnx(cols2.T @ d2, cin, cout)
        grads[name + ".bias"] = d2.sum(axis=0)
        if li > 0:
            n_, h_, w_, _ = d.shape
            d = col2im((d2 @ layer["wg"].T).reshape(n_, h_, w_, K * K * cin), cin)
    return grads


def softmax_xent(logits, y):
    z = logits - logits.max(axis=1, keepdims=True)
    ez = np.exp(z)
    p = ez / ez.sum(axis=1, keepdims=True)
    n = logits.shape[0]
    loss = -np.log(p[np.arange(n), y] + 1e-12).mean()
    p[np.arange(n), y] -= 1.0
    return float(loss), (p / n).astype(F32)


def predict(params, images_u8, batch=500):
    out = []
    for i in range(0, len(images_u8), batch):
        out.append(forward(params, to_input(images_u8[i:i + batch])))
    return np.concatenate(out)


def accuracy(logits, y):
    return float((logits.argmax(axis=1) == y).mean())


# ---------------------------------------------------------------------------
# Training


def augment(xb_u8, rng, shift):
    """Random horizontal flip and a random shift of up to `shift` pixels in
    each direction (zero fill); uint8 in, uint8 out."""
    n = len(xb_u8)
    flip = rng.random(n) < 0.5
    xb = np.where(flip[:, None, None], xb_u8[:, :, ::-1], xb_u8)
    if shift == 0:
        return xb
    s = shift
    padded = np.pad(xb, ((0, 0), (s, s), (s, s)))
    dy = rng.integers(0, 2 * s + 1, n)
    dx = rng.integers(0, 2 * s + 1, n)
    out = np.empty_like(xb)
    for i in range(n):
        out[i] = padded[i, dy[i]:dy[i] + IMG, dx[i]:dx[i] + IMG]
    return out


def lr_at(step, total, base, warmup):
    if step < warmup:
        return base * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return base * 0.5 * (1.0 + math.cos(math.pi * t))


def fit(params, data, *, epochs, lr, wd, batch, shift, seed, masks=None, log=print):
    """AdamW with linear warmup then cosine decay. masks: name -> float32 0/1
    array (ONNX layout); masked gradients are zeroed before and masked values
    set to +0.0 after every step."""
    masks = masks or {}
    rng = np.random.default_rng(seed)
    xtr, ytr = data["train"]
    xva, yva = data["val"]
    steps_per_epoch = len(xtr) // batch  # the last partial batch is dropped
    total = epochs * steps_per_epoch
    warmup = min(steps_per_epoch // 2, total // 10) if total > 0 else 0
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(v) for k, v in params.items()}
    b1, b2, eps = 0.9, 0.999, 1e-8
    drop = {k: mk == 0 for k, mk in masks.items()}
    for k, dk in drop.items():
        np.copyto(params[k], F32(0.0), where=dk)  # +0.0, never -0.0
    step = 0
    t0 = time.time()
    for ep in range(epochs):
        order = rng.permutation(len(xtr))
        loss_sum = correct = seen = 0
        for bi in range(steps_per_epoch):
            idx = order[bi * batch:(bi + 1) * batch]
            xb = to_input(augment(xtr[idx], rng, shift))
            yb = ytr[idx]
            logits, caches = forward(params, xb, train=True)
            loss, dlogits = softmax_xent(logits, yb)
            grads = backward(params, dlogits, caches)
            loss_sum += loss * len(idx)
            correct += int((logits.argmax(axis=1) == yb).sum())
            seen += len(idx)
            step += 1
            cur = lr_at(step - 1, total, lr, warmup)
            bc1 = 1.0 - b1 ** step
            bc2 = 1.0 - b2 ** step
            for k, p in params.items():
                g = grads[k].astype(F32, copy=False)
                mk = masks.get(k)
                if mk is not None:
                    g = g * mk
                m[k] *= b1
                m[k] += (1 - b1) * g
                v[k] *= b2
                v[k] += (1 - b2) * (g * g)
                upd = (m[k] / bc1) / (np.sqrt(v[k] / bc2) + eps)
                if k.endswith(".weight") and wd > 0:
                    upd += wd * p
                p -= F32(cur) * upd.astype(F32, copy=False)
                if mk is not None:
                    np.copyto(p, F32(0.0), where=drop[k])
        val_acc = accuracy(predict(params, xva), yva)
        log(f"epoch {ep + 1:2d}/{epochs}: loss {loss_sum / seen:.4f}, train acc {correct / seen:.4f} "
            f"(augmented), val acc {val_acc:.4f}, lr {cur:.2e}, {time.time() - t0:.0f} s")
    return time.time() - t0


# ---------------------------------------------------------------------------
# ONNX


def export_onnx(params, path, doc=""):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes = []
    prev = "input"
    for name, _, _, pool in CONVS:
        i = name[-1]
        nodes.append(helper.make_node(
            "Conv", [prev, name + ".weight", name + ".bias"], [name], name=name,
            kernel_shape=[K, K], pads=[1, 1, 1, 1], strides=[1, 1]))
        nodes.append(helper.make_node("Relu", [name], ["relu" + i], name="relu" + i))
        prev = "relu" + i
        if pool:
            nodes.append(helper.make_node("MaxPool", [prev], ["pool" + i], name="pool" + i,
                                          kernel_shape=[2, 2], strides=[2, 2]))
            prev = "pool" + i
    nodes.append(helper.make_node("Flatten", [prev], ["flatten"], name="flatten", axis=1))
    prev = "flatten"
    for li, (name, _, _, relu) in enumerate(FCS):
        last = li == len(FCS) - 1
        out = "logits" if last else name
        nodes.append(helper.make_node("Gemm", [prev, name + ".weight", name + ".bias"], [out],
                                      name=name, alpha=1.0, beta=1.0, transB=1))
        prev = out
        if relu:
            nodes.append(helper.make_node("Relu", [prev], ["relu" + name[-1]], name="relu" + name[-1]))
            prev = "relu" + name[-1]
    inits = [numpy_helper.from_array(np.ascontiguousarray(params[k], dtype=F32), k)
             for k in param_shapes()]
    graph = helper.make_graph(
        nodes, "fmnist_cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, IMG, IMG])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="eyesim tools/fmnist/train.py", doc_string=doc)
    model.ir_version = 7  # the IR version of opset 13
    onnx.checker.check_model(model, full_check=True)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    onnx.save(model, path)
    return model


def load_onnx_params(path):
    import onnx
    from onnx import numpy_helper

    model = onnx.load(path)
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    params = {}
    for k, shape in param_shapes().items():
        if k not in inits:
            sys.exit(f"{path}: no initializer '{k}' (expected the train.py architecture)")
        a = inits[k]
        if tuple(a.shape) != shape:
            sys.exit(f"{path}: initializer '{k}' has shape {a.shape}, expected {shape}")
        params[k] = np.array(a, dtype=F32)
    return params


def ort_logits(path, images_u8, batch=1000):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    out = []
    for i in range(0, len(images_u8), batch):
        out.append(sess.run(["logits"], {"input": to_input(images_u8[i:i + batch])})[0])
    return np.concatenate(out)


def verify(path, params, data):
    """onnx.checker on the saved file, then onnxruntime against NumPy on the
    10k test set. Returns (numpy acc, ort acc, ok)."""
    import onnx

    onnx.checker.check_model(onnx.load(path), full_check=True)
    xte, yte = data["test"]
    ln = predict(params, xte)
    lo = ort_logits(path, xte)
    acc_n, acc_o = accuracy(ln, yte), accuracy(lo, yte)
    diff = int((ln.argmax(1) != lo.argmax(1)).sum())
    print(f"onnx.checker: ok ({path})")
    print(f"test accuracy (10k): numpy {acc_n:.4f}, onnxruntime {acc_o:.4f}; "
          f"{diff} predictions differ; max |logit diff| {np.abs(ln - lo).max():.2e}")
    ok = acc_n == acc_o
    if not ok:
        print("ERROR: onnxruntime does not reproduce the NumPy accuracy", file=sys.stderr)
    return acc_n, acc_o, ok


# ---------------------------------------------------------------------------
# Masks


def load_masks(params, mask_dir, from_zeros):
    masks = {}
    if mask_dir:
        known = set(param_shapes())
        files = sorted(f for f in os.listdir(mask_dir) if f.endswith(".npy"))
        if not files:
            sys.exit(f"{mask_dir}: no <initializer name>.npy mask files")
        for f in files:
            k = f[:-4]
            if k not in known:
                sys.exit(f"{mask_dir}/{f}: no initializer named '{k}' (known: {', '.join(sorted(known))})")
            a = np.load(os.path.join(mask_dir, f))
            if not (a.dtype == np.bool_ or np.issubdtype(a.dtype, np.integer)):
                sys.exit(f"{mask_dir}/{f}: mask dtype {a.dtype} is not integer or bool")
            if a.shape != params[k].shape:
                sys.exit(f"{mask_dir}/{f}: shape {a.shape}, but '{k}' is {params[k].shape}")
            masks[k] = (a != 0).astype(F32)
    if from_zeros:
        for k, p in params.items():
            zm = (p != 0).astype(F32)
            masks[k] = masks[k] * zm if k in masks else zm
    return masks


def density_report(params, masks=None):
    for k in param_shapes():
        p = params[k]
        line = f"  {k:13s} {p.size:7d} values, {np.count_nonzero(p) / p.size:.4f} non-zero"
        if masks and k in masks:
            mk = masks[k]
            bad = int(np.count_nonzero(p[mk == 0]))
            line += f", mask keeps {mk.mean():.4f}, {bad} masked values non-zero"
        print(line)


# ---------------------------------------------------------------------------
# Commands


def cmd_train(args):
    data = load_data(args.data)
    rng = np.random.default_rng(args.seed)
    params = init_params(rng)
    n_w = sum(p.size for p in params.values())
    print(f"train {len(data['train'][0])}, val {len(data['val'][0])}, test {len(data['test'][0])}; "
          f"{n_w} parameters; epochs {args.epochs}, batch {args.batch}, lr {args.lr}, wd {args.wd}, "
          f"shift {args.shift}, seed {args.seed}")
    secs = fit(params, data, epochs=args.epochs, lr=args.lr, wd=args.wd, batch=args.batch,
               shift=args.shift, seed=args.seed + 1)
    val = accuracy(predict(params, data["val"][0]), data["val"][1])
    print(f"training time {secs:.0f} s; val accuracy {val:.4f}")
    export_onnx(params, args.out, doc=f"Fashion-MNIST CNN, train.py train --seed {args.seed} "
                f"--epochs {args.epochs}")
    _, _, ok = verify(args.out, params, data)
    return 0 if ok else 1


def cmd_finetune(args):
    if not args.masks and not args.masks_from_zeros:
        print("note: no --masks/--masks-from-zeros given, every weight trains freely")
    data = load_data(args.data)
    params = load_onnx_params(args.init)
    masks = load_masks(params, args.masks, args.masks_from_zeros)
    xva, yva = data["val"]
    xte, yte = data["test"]
    print(f"loaded {args.init}: val acc {accuracy(predict(params, xva), yva):.4f}, "
          f"test acc {accuracy(predict(params, xte), yte):.4f} (before masking)")
    for k, mk in masks.items():
        np.copyto(params[k], F32(0.0), where=mk == 0)
    print(f"with masks applied: val acc {accuracy(predict(params, xva), yva):.4f}, "
          f"test acc {accuracy(predict(params, xte), yte):.4f}")
    density_report(params, masks)
    secs = fit(params, data, epochs=args.epochs, lr=args.lr, wd=args.wd, batch=args.batch,
               shift=args.shift, seed=args.seed, masks=masks)
    val = accuracy(predict(params, xva), yva)
    print(f"fine-tuning time {secs:.0f} s; val accuracy {val:.4f}")
    export_onnx(params, args.out, doc=f"Fashion-MNIST CNN fine-tuned from {os.path.basename(args.init)}")
    _, _, ok = verify(args.out, params, data)
    saved = load_onnx_params(args.out)
    print("saved model:")
    density_report(saved, masks)
    held = all(not np.count_nonzero(saved[k][mk == 0]) and not np.signbit(saved[k][mk == 0]).any()
               for k, mk in masks.items())
    print("masks held: " + ("yes, every masked value is exactly 0.0" if held else "NO"))
    return 0 if ok and held else 1


def zero_fractions(params, images_u8):
    """Fraction of exactly-zero values of every intermediate tensor (float)."""
    taps = {}
    forward(params, to_input(images_u8), taps=taps)
    return {k: float(np.mean(v == 0)) for k, v in taps.items()}


def cmd_eval(args):
    data = load_data(args.data)
    params = load_onnx_params(args.model)
    xva, yva = data["val"]
    xte, yte = data["test"]
    xs, ys = xte[:N_SUBSET], yte[:N_SUBSET]
    ln = predict(params, xte)
    lo = ort_logits(args.model, xte)
    print(f"val accuracy (5k):   numpy {accuracy(predict(params, xva), yva):.4f}")
    print(f"test accuracy (10k): numpy {accuracy(ln, yte):.4f}, onnxruntime {accuracy(lo, yte):.4f}, "
          f"{int((ln.argmax(1) != lo.argmax(1)).sum())} predictions differ")
    print(f"t1k accuracy (1k):   numpy {accuracy(ln[:N_SUBSET], ys):.4f}, "
          f"onnxruntime {accuracy(lo[:N_SUBSET], ys):.4f}")
    print("\n| layer | op | output | weights | biases | MACs / image | non-zero weights |")
    print("|---|---|---|---:|---:|---:|---:|")
    tot_w = tot_b = tot_m = 0
    for name, op, shape, w, b, macs in layer_table():
        nz = ""
        if w:
            p = params[name + ".weight"]
            nz = f"{np.count_nonzero(p) / p.size:.4f}"
        print(f"| {name} | {op} | {shape} | {w:,} | {b:,} | {macs:,} | {nz} |")
        tot_w += w
        tot_b += b
        tot_m += macs
    print(f"| total | | | {tot_w:,} | {tot_b:,} | {tot_m:,} | |")
    zf = zero_fractions(params, xs)
    print(f"\nzero fractions over the first {N_SUBSET} test images (float; ofmap = after the ReLU):")
    print("| layer | ifmap tensor | ifmap zero fraction | ofmap tensor | ofmap zero fraction |")
    print("|---|---|---:|---|---:|")
    prev = "input"
    for name, _, _, pool in CONVS:
        out = "relu" + name[-1]
        print(f"| {name} | {prev} | {zf[prev]:.4f} | {out} | {zf[out]:.4f} |")
        prev = out
        if pool:
            out = "pool" + name[-1]
            print(f"| {out} | {prev} | {zf[prev]:.4f} | {out} | {zf[out]:.4f} |")
            prev = out
    for name, _, _, relu in FCS:
        out = "relu" + name[-1] if relu else "logits"
        print(f"| {name} | {prev} | {zf[prev]:.4f} | {out} | {zf[out]:.4f} |")
        prev = out
    if args.subset_out:
        os.makedirs(args.subset_out, exist_ok=True)
        xi, yl = data["test_u8"]
        pi = os.path.join(args.subset_out, "t1k-images-idx3-ubyte.gz")
        pl = os.path.join(args.subset_out, "t1k-labels-idx1-ubyte.gz")
        write_idx(pi, xi[:N_SUBSET])
        write_idx(pl, yl[:N_SUBSET])
        assert np.array_equal(read_idx(pi), xi[:N_SUBSET]) and np.array_equal(read_idx(pl), yl[:N_SUBSET])
        pred = ln[:N_SUBSET].argmax(1)
        if not np.array_equal(pred, lo[:N_SUBSET].argmax(1)):
            print("WARNING: onnxruntime and NumPy disagree on the subset predictions", file=sys.stderr)
        write_val_subset(args.data, args.subset_out)
        pr = os.path.join(args.subset_out, "float-reference.txt")
        with open(pr, "w") as f:
            f.write("".join(f"{int(c)}\n" for c in pred))
        print(f"\nwrote {pi}, {pl}, {pr}")
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p, epochs, lr, seed):
        p.add_argument("--data", default=DEFAULT_DATA, help="folder with the Fashion-MNIST .gz files")
        p.add_argument("--epochs", type=int, default=epochs)
        p.add_argument("--lr", type=float, default=lr, help="peak AdamW learning rate (cosine decay)")
        p.add_argument("--wd", type=float, default=1e-4, help="decoupled weight decay on weights")
        p.add_argument("--batch", type=int, default=128)
        p.add_argument("--shift", type=int, default=2, help="max random shift in pixels (0: none)")
        p.add_argument("--seed", type=int, default=seed)
        p.add_argument("--out", required=True, help="ONNX file to write")

    p = sub.add_parser("train", help="train from scratch")
    common(p, epochs=15, lr=2e-3, seed=20240601)
    p = sub.add_parser("finetune", help="fine-tune an ONNX model with fixed weight masks")
    common(p, epochs=2, lr=3e-4, seed=7)
    p.add_argument("--init", required=True, help="ONNX model of the same architecture")
    p.add_argument("--masks", help="folder of <initializer name>.npy masks (non-zero = keep)")
    p.add_argument("--masks-from-zeros", action="store_true",
                   help="also keep fixed the zero pattern of every --init initializer")
    p = sub.add_parser("eval", help="accuracies, zero fractions, optional 1k subset files")
    p.add_argument("--data", default=DEFAULT_DATA)
    p.add_argument("--model", required=True)
    p.add_argument("--subset-out", help="folder for t1k-*.gz and float-reference.txt")
    args = ap.parse_args(argv)
    return {"train": cmd_train, "finetune": cmd_finetune, "eval": cmd_eval}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
