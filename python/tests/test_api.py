"""The Python API against the command line: same files, same numbers,
the same errors; interrupts and threads."""

import _thread
import signal
import subprocess
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

import eyesim


def cli_files(cli, args, out):
    subprocess.run([cli, *args, "--out", str(out)], check=True, capture_output=True)
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_estimate_writes_the_cli_bytes(cli, tmp_path):
    r = eyesim.estimate("alexnet", eyesim.hardware("eyeriss-v1", **{"glb.size_kib": 64}), batch=2)
    want = cli_files(cli, ["estimate", "--net", "alexnet", "--set", "glb.size_kib=64.0", "--batch", "2"], tmp_path / "cli")
    assert set(r.files) == {"accesses.csv", "layers.csv", "mappings.toml"}
    assert r.files == want
    pd.testing.assert_frame_equal(r.layers, pd.read_csv(tmp_path / "cli/layers.csv"))
    saved = r.save(tmp_path / "saved")
    assert (saved / "accesses.csv").read_bytes() == want["accesses.csv"]
    # The override took effect: a smaller GLB costs more DRAM energy.
    base = eyesim.estimate("alexnet", "eyeriss-v1", batch=2)
    assert r.layers["energy_dram"].sum() > base.layers["energy_dram"].sum()


def test_simulate_and_crosscheck_match_the_cli(cli, tmp_path):
    s = eyesim.simulate("alexnet", layers=["conv1", "conv3"], batch=1, seed=7, progress=False)
    want = cli_files(cli, ["simulate", "--layers", "conv1,conv3", "--batch", "1", "--seed", "7"], tmp_path / "s")
    assert s.files == want and list(s.components["layer"].unique()) == ["conv1", "conv3"]
    c = eyesim.crosscheck("alexnet", layers=["conv2"], batch=1, progress=False)
    assert c.passed and len(c.crosscheck) > 10
    assert c.files["crosscheck.csv"] == cli_files(
        cli, ["crosscheck", "--layers", "conv2", "--batch", "1", "--quiet"], tmp_path / "c")["crosscheck.csv"]


def test_a_failed_gate_still_returns_the_tables():
    # A zero cycle tolerance cannot hold on sparse AlexNet layers.
    c = eyesim.crosscheck("alexnet", layers=["conv2"], batch=1, cycle_tolerance=0.0, tolerance=0.0, progress=False)
    assert not c.passed
    assert (c.crosscheck["status"] != "ok").any()


def test_sweep_points_match_the_cli(cli, tmp_path):
    s = eyesim.sweep("alexnet", vary={"glb.size_kib": [64, 108]}, jobs=2, progress=False)
    want = cli_files(cli, ["sweep", "--net", "alexnet", "--vary", "glb.size_kib=64,108", "--jobs", "2"], tmp_path / "w")
    assert s.files["sweep.csv"] == want["sweep.csv"]
    assert s.files["sweep_summary.csv"] == want["sweep_summary.csv"]
    assert sorted(s.points["glb.size_kib"].unique()) == [64, 108]


def test_prune_plan_matches_the_cli(cli, tmp_path):
    small = "python/tests/data/small.toml"
    p = eyesim.prune(small, floor=0.2, target_reduction=1.5, progress=False)
    want = cli_files(cli, ["prune", "--net", small, "--floor", "0.2", "--target-reduction", "1.5"], tmp_path / "p")
    assert p.files == want and p.tables


def test_network_layers_and_plain_columns(monkeypatch):
    df = eyesim.network("alexnet").layers
    assert list(df["layer"][:2]) == ["conv1", "pool1"]
    import builtins
    real = builtins.__import__

    def no_pandas(name, *a, **k):
        if name == "pandas":
            raise ImportError(name)
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    cols = eyesim.estimate("alexnet").layers
    assert isinstance(cols, dict) and cols["layer"][0] == "conv1" and isinstance(cols["cycles"][0], int)


def test_input_errors_carry_file_line_column_and_key(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(Path("hwconfigs/eyeriss-v1.toml").read_text().replace("size_kib = 108", "size_kib = -1"))
    with pytest.raises(eyesim.Error) as e:
        eyesim.estimate("alexnet", str(bad))
    msg = str(e.value)
    assert "bad.toml:" in msg and "size_kib" in msg and e.value.exit_code != 0
    with pytest.raises(eyesim.Error, match="did you mean `glb.size_kib`"):
        eyesim.estimate("alexnet", eyesim.hardware(**{"glb.size_kb": 64}))
    with pytest.raises(eyesim.Error, match="no layer `conv9`"):
        eyesim.simulate("alexnet", layers=["conv9"], progress=False)


def test_ctrl_c_cancels_and_writes_nothing(tmp_path):
    # A process started with SIGINT ignored (a background job of a
    # non-interactive shell, nohup, some CI runners) passes that on, and
    # Python then leaves Ctrl-C ignored: interrupt_main() would do nothing.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    out = tmp_path / "vgg"
    threading.Timer(1.0, _thread.interrupt_main).start()
    try:
        with pytest.raises(KeyboardInterrupt):
            # Minutes of work if not cancelled; the files would then be written.
            eyesim.simulate("vgg16", batch=3, threads=1, out=out, progress=False)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert not out.exists() or not any(out.iterdir())
    # The package still works afterwards.
    assert eyesim.estimate("alexnet").layers["layer"][0] == "conv1"


def test_threads_run_at_once_and_agree_with_serial_runs():
    sizes = [32, 64, 108, 256]
    serial = {k: eyesim.estimate("alexnet", eyesim.hardware(**{"glb.size_kib": k})).files for k in sizes}
    got = {}

    def work(k):
        got[k] = eyesim.estimate("alexnet", eyesim.hardware(**{"glb.size_kib": k})).files

    ts = [threading.Thread(target=work, args=(k,)) for k in sizes for _ in range(2)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    assert got == serial
    assert len({v["layers.csv"] for v in serial.values()}) == len(sizes)


def test_the_gil_is_released_during_a_run():
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.01)

    t = threading.Thread(target=ticker)
    t.start()
    eyesim.simulate("alexnet", layers=["conv2"], batch=1, progress=False)
    stop.set()
    t.join()
    # A run holding the GIL would starve the ticker to a tick or two.
    assert len(ticks) > 5


def test_progress_reaches_the_callback(monkeypatch):
    seen = []
    monkeypatch.setattr(eyesim._Bar, "update", lambda self, *a: seen.append(a))
    eyesim.simulate("alexnet", layers=["conv1", "conv3"], batch=1)
    assert seen[-1][0] == "simulate" and seen[-1][2:] == (2, 2)


def test_console_script_is_the_cli(tmp_path):
    import shutil, sys
    script = Path(sys.executable).with_name("eyesim")
    r = subprocess.run([str(script), "estimate", "--out", str(tmp_path / "x")], capture_output=True, text=True)
    assert r.returncode == 0 and "wrote" in r.stdout
    r = subprocess.run([str(script), "estimate", "--hw", "nope"], capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.startswith("error:")
