"""eyesim from Python: energy, latency and traffic of CNNs on Eyeriss-like
row-stationary accelerators, by an analytic model and a cycle-level
simulator that check each other.

Every call runs the same Rust code as the ``eyesim`` command line, in this
process, with the GIL released. Results hold the files the command line
writes (byte for byte) and offer their CSV tables as pandas DataFrames
(plain ``{column: list}`` dicts without pandas).

>>> import eyesim
>>> r = eyesim.estimate("alexnet", "eyeriss-v1")
>>> r.layers[["layer", "energy_total"]].head(2)  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import io
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from . import _native

__version__ = _native.__version__
__all__ = [
    "Error", "Network", "Hardware", "Result", "network", "hardware", "estimate",
    "simulate", "crosscheck", "sweep", "prune", "run",
]

PathLike = Union[str, "os.PathLike[str]"]


class Error(Exception):
    """An input or run error, with the command line's message (file, line,
    column and key where the input has them) and its exit status."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def _call(argv: List[str], progress: bool) -> Any:
    bar = _Bar() if progress else None
    try:
        return _native.run(argv, bar.update if bar else None)
    except _native.EyesimError as e:
        message, code = e.args
        raise Error(message, code) from None
    finally:
        if bar:
            bar.close()


class _Bar:
    """A progress bar: tqdm.auto (notebook widgets or terminal) when
    installed, else a line on stderr."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._prefix: Optional[str] = None
        try:
            from tqdm.auto import tqdm
        except ImportError:
            tqdm = None
        self._tqdm = tqdm

    def update(self, prefix: str, message: str, position: int, length: Optional[int]) -> None:
        if self._tqdm is not None:
            if self._bar is None or prefix != self._prefix:
                self.close()
                self._bar = self._tqdm(total=length, desc=prefix, leave=False)
                self._prefix = prefix
            self._bar.total = length
            self._bar.n = position
            self._bar.set_postfix_str(message, refresh=False)
            self._bar.refresh()
        elif sys.stderr.isatty():
            total = "?" if length is None else str(length)
            sys.stderr.write(f"\r{prefix} {position}/{total} {message}\x1b[K")
            sys.stderr.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self._tqdm is None and sys.stderr.isatty():
            sys.stderr.write("\r\x1b[K")


class Network:
    """A workload: a built-in name, a trace file, or an ONNX model."""

    def __init__(self, spec: PathLike) -> None:
        self.spec = os.fspath(spec)

    @property
    def is_onnx(self) -> bool:
        """Whether this is a trained ONNX model (weights included)."""
        return self.spec.endswith(".onnx")

    @property
    def layers(self) -> Any:
        """The layers, shapes, MACs, weights and densities (``eyesim show``)."""
        if self.is_onnx:
            with tempfile.TemporaryDirectory() as d:
                trace = Path(d) / "model.toml"
                _call(["import", self.spec, "-o", str(trace)], False)
                text = _call(["show", "--net", str(trace), "--csv"], False).text
        else:
            text = _call(["show", "--net", self.spec, "--csv"], False).text
        return _table(text.encode())

    def __repr__(self) -> str:
        return f"eyesim.network({self.spec!r})"


class Hardware:
    """A hardware config (built-in name or TOML file) with overrides, keyed
    as in sweeps (``glb.size_kib``)."""

    def __init__(self, spec: PathLike, overrides: Mapping[str, float]) -> None:
        self.spec = os.fspath(spec)
        self.overrides = dict(overrides)

    def args(self) -> List[str]:
        """The command-line options that select this hardware."""
        out = ["--hw", self.spec]
        for k, v in self.overrides.items():
            out += ["--set", f"{k}={v!r}"]
        return out

    def __repr__(self) -> str:
        if not self.overrides:
            return f"eyesim.hardware({self.spec!r})"
        return f"eyesim.hardware({self.spec!r}, **{self.overrides!r})"


def network(spec: Union[PathLike, Network] = "alexnet") -> Network:
    """A network: ``"alexnet"``, ``"vgg16"``, ..., a trace path or an ONNX path.

    >>> eyesim.network("alexnet").layers["layer"][0]  # doctest: +SKIP
    'conv1'
    """
    return spec if isinstance(spec, Network) else Network(spec)


def hardware(spec: Union[PathLike, Hardware] = "eyeriss-v1", **overrides: float) -> Hardware:
    """A hardware config with overrides. Keys are dotted as in sweeps; pass
    them as ``**{"glb.size_kib": 64}`` or as ``glb__size_kib=64``.

    >>> eyesim.hardware("eyeriss-v1", **{"glb.size_kib": 64})  # doctest: +SKIP
    """
    base = spec if isinstance(spec, Hardware) else Hardware(spec, {})
    more = {k.replace("__", "."): float(v) for k, v in overrides.items()}
    return Hardware(base.spec, {**base.overrides, **more})


def _table(data: bytes) -> Any:
    try:
        import pandas as pd
    except ImportError:
        return _columns(data)
    return pd.read_csv(io.BytesIO(data))


def _number(s: str) -> Any:
    for kind in (int, float):
        try:
            return kind(s)
        except ValueError:
            pass
    return s


def _columns(data: bytes) -> Dict[str, list]:
    rows = list(csv.reader(io.StringIO(data.decode())))
    if not rows:
        return {}
    head, body = rows[0], rows[1:]
    return {h: [_number(r[i]) for r in body] for i, h in enumerate(head)}


class Result:
    """What a run produced: its printed ``text``, the ``files`` it wrote
    (relative path to bytes, identical to the command line's), and their
    CSV tables."""

    def __init__(self, kind: str, text: str, files: Dict[str, bytes], passed: bool = True) -> None:
        self.kind = kind
        self.text = text
        self.files = files
        #: False when a cross-check comparison is outside its tolerance.
        self.passed = passed

    def table(self, name: str) -> Any:
        """The CSV file ``name`` (e.g. ``"layers.csv"``, ``"simulated/layers.csv"``)."""
        if name not in self.files:
            have = ", ".join(sorted(n for n in self.files if n.endswith(".csv")))
            raise KeyError(f"{self.kind} wrote no {name}; its tables: {have}")
        return _table(self.files[name])

    @property
    def tables(self) -> List[str]:
        """The names of the CSV files."""
        return sorted(n for n in self.files if n.endswith(".csv"))

    def _first(self, *names: str) -> Any:
        for n in names:
            if n in self.files:
                return self.table(n)
        return self.table(names[0])

    @property
    def layers(self) -> Any:
        """Per-layer cycles, energy by level, PEs (layers.csv)."""
        return self._first("layers.csv", "simulated/layers.csv")

    @property
    def accesses(self) -> Any:
        """Per level and tensor access counts (accesses.csv)."""
        return self._first("accesses.csv", "simulated/accesses.csv")

    @property
    def components(self) -> Any:
        """The simulator's per-component counters (components.csv)."""
        return self._first("components.csv", "simulated/components.csv")

    @property
    def crosscheck(self) -> Any:
        """Analytic against simulated, one row per compared counter."""
        return self.table("crosscheck.csv")

    @property
    def points(self) -> Any:
        """One row per sweep point: totals and status (sweep_summary.csv)."""
        return self.table("sweep_summary.csv")

    @property
    def sweep(self) -> Any:
        """One row per sweep point, layer, level and tensor (sweep.csv)."""
        return self.table("sweep.csv")

    def save(self, folder: PathLike) -> Path:
        """Writes every file under ``folder``, as the command line would."""
        root = Path(folder)
        for name, data in self.files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        return root

    def __repr__(self) -> str:
        return self.text

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(self.text)


def _read_tree(root: Path) -> Dict[str, bytes]:
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            out[path.relative_to(root).as_posix()] = path.read_bytes()
    return out


def _execute(kind: str, argv: List[str], out: Optional[PathLike], progress: bool) -> Result:
    if out is not None:
        o = _call(argv + ["--out", os.fspath(out)], progress)
        return Result(kind, o.text, _read_tree(Path(out)), not o.gate_failed)
    with tempfile.TemporaryDirectory(prefix="eyesim-") as d:
        o = _call(argv + ["--out", d], progress)
        return Result(kind, o.text, _read_tree(Path(d)), not o.gate_failed)


def _model_args(net: Any, hw: Any, batch: Optional[int], objective: str,
                dense: bool, mapping: Optional[PathLike]) -> List[str]:
    a = ["--net", network(net).spec, *hardware(hw).args(), "--objective", objective]
    if batch is not None:
        a += ["--batch", str(int(batch))]
    if dense:
        a.append("--dense")
    if mapping is not None:
        a += ["--mapping", os.fspath(mapping)]
    return a


def _data_args(layers: Optional[Sequence[str]], seed: int, weights: Optional[PathLike],
               threads: Optional[int]) -> List[str]:
    a = ["--seed", str(int(seed))]
    if layers is not None:
        a += ["--layers", ",".join(layers)]
    if weights is not None:
        a += ["--weights", os.fspath(weights)]
    if threads is not None:
        a += ["--threads", str(int(threads))]
    return a


def _options(options: Mapping[str, Any]) -> List[str]:
    a: List[str] = []
    for k, v in options.items():
        flag = "--" + k.replace("_", "-")
        if v is True:
            a.append(flag)
        elif v is False or v is None:
            continue
        elif isinstance(v, (list, tuple)):
            a += [flag, ",".join(str(x) for x in v)]
        else:
            a += [flag, os.fspath(v) if isinstance(v, os.PathLike) else str(v)]
    return a


def estimate(net: Any = "alexnet", hw: Any = "eyeriss-v1", *, batch: Optional[int] = None,
             objective: str = "energy", dense: bool = False, mapping: Optional[PathLike] = None,
             out: Optional[PathLike] = None) -> Result:
    """Maps every layer and evaluates it with the analytic model
    (``eyesim estimate``): layers.csv, accesses.csv, mappings.toml.

    >>> r = eyesim.estimate("alexnet", eyesim.hardware(**{"glb.size_kib": 64}))  # doctest: +SKIP
    """
    argv = ["estimate", *_model_args(net, hw, batch, objective, dense, mapping)]
    return _execute("estimate", argv, out, False)


def simulate(net: Any = "alexnet", hw: Any = "eyeriss-v1", *, layers: Optional[Sequence[str]] = None,
             seed: int = 1, weights: Optional[PathLike] = None, threads: Optional[int] = None,
             batch: Optional[int] = None, objective: str = "energy", dense: bool = False,
             mapping: Optional[PathLike] = None, out: Optional[PathLike] = None,
             progress: bool = True) -> Result:
    """Runs layers cycle by cycle on real 16-bit data, every ofmap checked bit
    for bit (``eyesim simulate``): layers.csv, accesses.csv, components.csv."""
    argv = ["simulate", *_model_args(net, hw, batch, objective, dense, mapping),
            *_data_args(layers, seed, weights, threads)]
    return _execute("simulate", argv, out, progress)


def crosscheck(net: Any = "alexnet", hw: Any = "eyeriss-v1", *, tolerance: float = 0.05,
               dense_tolerance: float = 0.0, cycle_tolerance: float = 0.10,
               layers: Optional[Sequence[str]] = None, seed: int = 1,
               weights: Optional[PathLike] = None, threads: Optional[int] = None,
               batch: Optional[int] = None, objective: str = "energy", dense: bool = False,
               mapping: Optional[PathLike] = None, out: Optional[PathLike] = None,
               progress: bool = True) -> Result:
    """The analytic model against the simulator, level by level
    (``eyesim crosscheck``). ``result.passed`` is False when a gap exceeds
    its tolerance; the tables are there either way."""
    argv = ["crosscheck", *_model_args(net, hw, batch, objective, dense, mapping),
            *_data_args(layers, seed, weights, threads), "--quiet",
            "--tolerance", repr(float(tolerance)), "--dense-tolerance",
            repr(float(dense_tolerance)), "--cycle-tolerance", repr(float(cycle_tolerance))]
    return _execute("crosscheck", argv, out, progress)


def sweep(net: Any = "alexnet", hw: Any = "eyeriss-v1", *,
          vary: Mapping[str, Union[str, Iterable[float]]], simulate: bool = False,
          out: Optional[PathLike] = None, progress: bool = True, **options: Any) -> Result:
    """Sweeps hardware parameters (and ``batch``) (``eyesim sweep``).
    ``vary`` maps a key to a range (``"16..512:x2"``) or a list of values.
    Other options are the command's, snake_cased (``jobs=2``, ``force=True``).

    >>> s = eyesim.sweep(vary={"glb.size_kib": [32, 64, 108]})  # doctest: +SKIP
    >>> s.points[["glb.size_kib", "energy_total"]]  # doctest: +SKIP
    """
    if isinstance(hw, Hardware) and hw.overrides:
        raise Error("sweep: give the base config by name or file; put overrides in vary=")
    argv = ["sweep", "--net", network(net).spec, "--hw", hardware(hw).spec]
    for k, v in vary.items():
        values = v if isinstance(v, str) else ",".join(repr(x) for x in v)
        argv += ["--vary", f"{k}={values}"]
    if simulate:
        argv.append("--simulate")
    argv += _options(options)
    return _execute("sweep", argv, out, progress)


def prune(net: Any = "alexnet", hw: Any = "eyeriss-v1", *, out: Optional[PathLike] = None,
          progress: bool = True, **options: Any) -> Result:
    """Energy-aware pruning (``eyesim prune``): plans densities on a trace,
    or prunes a trained ONNX model with accuracy measured in the chip's
    arithmetic. Options are the command's, snake_cased (``budget=1.0``,
    ``criteria=["energy-aware", "magnitude"]``, ``target_reduction=2``)."""
    argv = ["prune", "--net", network(net).spec, *hardware(hw).args(), *_options(options)]
    return _execute("prune", argv, out, progress)


def run(net: Any = "alexnet", hw: Any = "eyeriss-v1", *, out: Optional[PathLike] = None,
        progress: bool = True, **options: Any) -> Result:
    """The main job (``eyesim run``): estimate, simulate, cross-check, plots
    and a summary; with an ONNX model, accuracy too. Options are the
    command's, snake_cased (``batch=1``, ``no_plots=True``)."""
    argv = ["run", "--net", network(net).spec, *hardware(hw).args(), "--quiet",
            *_options(options)]
    return _execute("run", argv, out, progress)
