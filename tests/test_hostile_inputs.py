"""Every reproducer quoted in issue 11, as a regression test.

Readers are run in a forked child that may allocate at most 1 GiB more than the test process
(the ``bounded`` fixture): a reader that allocated for what an input merely declares would fail
there with MemoryError. Command-line reproducers run ``python -m nsad`` in a subprocess and check
the exit code and that standard error is one line (never a traceback). No timed assertions: the
time each rejection takes is reported by ``python -m nsad.experiments.fuzz --reproducers``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from nsad import errors
from nsad.experiments import fuzz
from nsad.experiments.cli import main
from nsad.experiments.store import APPLICATION_ID, ResultStore

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def nsad(*argv, cwd=None, timeout=300, **kwargs):
    return subprocess.run([sys.executable, "-m", "nsad", *map(str, argv)], capture_output=True, text=True,
                          timeout=timeout, env=ENV, cwd=cwd, **kwargs)


def error_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.strip() and not ln.startswith(("verify [", "scale ["))]


def assert_one_line_error(res, *fragments):
    lines = error_lines(res.stderr)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    assert len(lines) == 1 and lines[0].startswith("nsad: error: "), res.stderr
    for f in fragments:
        assert f in lines[0], lines[0]


def _reproduce(name: str, folder: str, gigabytes: float | None = None):
    rep = next(r for r in fuzz.REPRODUCERS if r.name == name)
    if gigabytes is not None:
        arg = (fuzz._npz_bomb if "npz" in name else fuzz._gz_bomb)(folder, gigabytes)
    else:
        arg = rep.build(folder)
    try:
        rep.run(arg)
    except BaseException as exc:  # reported to the parent
        return type(exc).__name__, str(exc), isinstance(exc, rep.expect)
    return None, "", False


# the bombs are built smaller than in the issue where building them would be slow; the rejection is the same
_SIZES = {"npz member inflating to 2.4 GB": 1.2}


@pytest.mark.parametrize("rep", fuzz.REPRODUCERS, ids=lambda r: r.name)
def test_library_reproducers_are_clean_errors_within_a_gigabyte(rep, tmp_path, bounded):
    out = bounded(_reproduce, rep.name, str(tmp_path), _SIZES.get(rep.name))
    assert out.ok, (out.status, out.reason)
    kind, message, expected = out.value
    assert expected, (kind, message)
    assert rep.fragment in message and "\n" not in message


# ------------------------------------------------------------------------------ DIMACS
def test_46_byte_dimacs_names_the_limit_and_how_to_raise_it(tmp_path):
    from nsad.instances import read_dimacs
    from nsad.limits import limits

    p = tmp_path / "small.cnf"
    p.write_bytes(b"c nsad planted: 1\np cnf 4611686018427387904 0\n")
    assert p.stat().st_size == 46
    with pytest.raises(errors.LimitError) as info:
        read_dimacs(p)
    assert str(info.value).startswith(f"{p}:2: ") and "--limit max_vars=" in str(info.value)
    assert info.value.limit == "max_vars"
    with limits(max_vars=None):  # lifted: the planted line is checked without a list of 2^62 entries
        with pytest.raises(errors.DimacsError, match="signed variables 1..4611686018427387904"):
            read_dimacs(p)


def test_gzip_bomb_is_streamed_with_a_cap(tmp_path, bounded):
    from nsad.instances import read_dimacs
    from nsad.limits import limits

    bomb = fuzz._gz_bomb(str(tmp_path), 4.0)
    assert os.path.getsize(bomb) < 5e6

    def read_small_cap():
        with limits(max_decompressed_bytes=32 << 20):
            try:
                read_dimacs(bomb)
            except errors.LimitError as exc:
                return str(exc)

    out = bounded(read_small_cap)
    assert out.ok and "max_decompressed_bytes = 33554432" in out.value


# ------------------------------------------------------------------------------------ npz
def test_lying_zip_directory_cannot_inflate_past_the_declared_size(tmp_path, bounded):
    """A member whose deflate stream holds more than the zip directory declares is read up to the
    declared size and then fails its CRC or its length check: a NetworkError, never a big buffer."""
    import zipfile

    from nsad.networks import ReluNetwork

    p = tmp_path / "lie.npz"
    arrays = {"n_layers": np.array(1), "M1_data": np.zeros(2_000_000), "M1_indices": np.zeros(2_000_000, np.int64),
              "M1_indptr": np.array([0, 2_000_000]), "M1_shape": np.array([1, 1])}
    with open(p, "wb") as fh:
        np.savez_compressed(fh, **arrays)
    data = bytearray(p.read_bytes())
    with zipfile.ZipFile(p) as zf:
        info = zf.getinfo("M1_data.npy")
    # shrink the declared size in the central directory entry of M1_data.npy
    cd = data.rindex(b"M1_data.npy") - 46
    data[cd + 24:cd + 28] = (1000).to_bytes(4, "little")
    p.write_bytes(bytes(data))
    out = bounded(lambda: _error_of(ReluNetwork.load, p))
    assert out.ok and out.value[0] in ("NetworkError", "LimitError"), out.value
    assert info.file_size > 1000


def _error_of(fn, *args):
    try:
        fn(*args)
    except Exception as exc:
        return type(exc).__name__, str(exc)
    return None, ""


def test_decide_on_a_1_by_2_to_40_layer_is_one_line_and_exit_2(tmp_path):
    path = fuzz._wide_npz(str(tmp_path))
    assert os.path.getsize(path) < 2048
    res = nsad("decide", path)
    assert_one_line_error(res, "max_layer_width", "1 x 1099511627776")


def test_text_file_named_npz_gets_no_allow_pickle_hint(tmp_path):
    from nsad.networks import NetworkError, ReluNetwork

    p = tmp_path / "formula.npz"
    p.write_text("p cnf 3 1\n1 0\n")
    with pytest.raises(NetworkError) as info:
        ReluNetwork.load(p)
    assert "allow_pickle" not in str(info.value) and "text file" in str(info.value) and "nsad reduce" in str(info.value)


def test_npz_pickled_member_is_refused_without_unpickling(tmp_path):
    from nsad.networks import NetworkError, ReluNetwork

    p = tmp_path / "pickle.npz"
    np.savez(p, n_layers=np.array([{"evil": 1}], dtype=object))
    with pytest.raises(NetworkError, match="Python objects"):
        ReluNetwork.load(p)


# ----------------------------------------------------------------------------------- ONNX
def _onnx_model():
    onnx = pytest.importorskip("onnx")
    from nsad.networks import ReluNetwork
    from nsad.networks.onnx_io import to_onnx

    return onnx, to_onnx(ReluNetwork([[[1, -1], [1, 1]], [[1, 1]]]))


def _malformed_models():
    onnx, base = _onnx_model()
    from onnx import TensorProto, helper

    def variant(edit):
        m = onnx.ModelProto()
        m.CopyFrom(base)
        edit(m)
        return m

    def drop_input(m):
        del m.graph.node[0].input[1]

    def drop_output(m):
        del m.graph.node[0].output[:]

    def short_raw(m):
        m.graph.initializer[0].raw_data = m.graph.initializer[0].raw_data[:3]

    def bad_type(m):
        m.graph.initializer[0].data_type = 99

    def string_type(m):
        m.graph.initializer[0].data_type = TensorProto.STRING

    def bad_alpha(m):
        m.graph.node[0].op_type = "Gemm"
        m.graph.node[0].attribute.append(helper.make_attribute("alpha", "x"))

    def bad_trans(m):
        m.graph.node[0].op_type = "Gemm"
        m.graph.node[0].attribute.append(helper.make_attribute("transB", [1, 2]))

    def empty_constant(m):
        m.graph.node.insert(0, helper.make_node("Constant", [], ["C"]))

    def negative_dim(m):
        m.graph.initializer[0].dims[0] = -3

    def huge_dim(m):
        m.graph.initializer[0].dims[0] = 2**40

    def huge_input(m):
        m.graph.input[0].type.tensor_type.shape.dim[1].dim_value = 2**40

    def no_graph_output(m):
        del m.graph.output[:]

    return {f.__name__: variant(f) for f in (drop_input, drop_output, short_raw, bad_type, string_type, bad_alpha,
                                             bad_trans, empty_constant, negative_dim, huge_dim, huge_input,
                                             no_graph_output)}


def test_malformed_onnx_models_raise_only_network_errors(tmp_path):
    from nsad.networks.onnx_io import from_onnx, load_onnx

    for name, model in _malformed_models().items():
        data = model.SerializeToString()
        for source in (data, model):
            with pytest.raises((errors.NetworkError, errors.LimitError)) as info:
                from_onnx(source)
            assert "\n" not in str(info.value), name
        path = tmp_path / f"{name}.onnx"
        path.write_bytes(data)
        with pytest.raises((errors.NetworkError, errors.LimitError)) as info:
            load_onnx(path)
        assert str(info.value).startswith(str(path)), (name, str(info.value))


def _external_model(location: str):
    onnx, base = _onnx_model()
    from onnx import TensorProto

    m = onnx.ModelProto()
    m.CopyFrom(base)
    t = m.graph.initializer[0]
    raw = t.raw_data
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    t.external_data.add(key="location", value=location)
    t.external_data.add(key="offset", value="0")
    t.external_data.add(key="length", value=str(len(raw)))
    return m, raw


def test_onnx_bytes_never_follow_external_data_from_the_working_directory(tmp_path, monkeypatch):
    from nsad.networks.onnx_io import from_onnx

    m, raw = _external_model("weights.bin")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "weights.bin").write_bytes(raw)  # a file the model names, in the working directory
    for source in (m.SerializeToString(), m):
        with pytest.raises(errors.NetworkError, match="external data is refused for a model given in memory"):
            from_onnx(source)


def test_onnx_file_external_data_is_confined_to_the_model_folder(tmp_path):
    from nsad.networks import ReluNetwork
    from nsad.networks.onnx_io import load_onnx

    model_dir = tmp_path / "model"
    model_dir.mkdir()
    m, raw = _external_model("weights.bin")
    (model_dir / "weights.bin").write_bytes(raw)
    (model_dir / "net.onnx").write_bytes(m.SerializeToString())
    assert load_onnx(model_dir / "net.onnx") == ReluNetwork([[[1, -1], [1, 1]], [[1, 1]]])
    (tmp_path / "secret.bin").write_bytes(raw)
    os.symlink(tmp_path / "secret.bin", model_dir / "link.bin")
    for location in ("../secret.bin", str(tmp_path / "secret.bin"), "link.bin", "sub/../../secret.bin"):
        m2, _ = _external_model(location)
        (model_dir / "evil.onnx").write_bytes(m2.SerializeToString())
        with pytest.raises(errors.NetworkError, match="inside the model's folder|outside the model's folder"):
            load_onnx(model_dir / "evil.onnx")


# -------------------------------------------------------------------------------- VNN-LIB
def test_vnnlib_huge_exponent_and_deep_nesting():
    from nsad.reductions.vnnlib import parse_vnnlib

    with pytest.raises(errors.LimitError, match="max_number_length"):
        parse_vnnlib("(declare-const X_0 Real)(declare-const Y_0 Real)\n(assert (>= X_0 1e-999999999))", "p.vnnlib")
    deep = "(declare-const X_0 Real)(declare-const Y_0 Real)(assert " + "(and " * 1000 + "(>= Y_0 1)" + ")" * 1001
    with pytest.raises(errors.LimitError, match="p.vnnlib:1: parentheses nested more than 100 deep"):
        parse_vnnlib(deep, "p.vnnlib")
    ok = "(declare-const X_0 Real)(declare-const Y_0 Real)(assert (<= X_0 1))(assert (>= X_0 -1))(assert " \
         + "(and " * 50 + "(>= Y_0 1e-300)" + ")" * 51
    assert parse_vnnlib(ok).outputs[0].value * 10**300 == 1


# ---------------------------------------------------------------------------------- suites
@pytest.mark.parametrize("spec, fragment", [
    ('[[family]]\nname = "random"\nn = 20\nratio = 4.26\ncount = 1000000000\n', "max_grid_tasks"),
    ('[[family]]\nname = "random"\nn = {start = 10, stop = 100009, step = 1}\nm = {start = 1, stop = 100000, step = 1}\n',
     "max_grid_tasks"),
    ('[[family]]\nname = "random"\nn = 100000000\nratio = 4.26\n', "max_vars"),
])
def test_suite_sizes_are_refused_before_anything_is_written(spec, fragment, tmp_path):
    p = tmp_path / "s.toml"
    p.write_text(spec)
    res = nsad("generate", "suite", "--spec", p, "--out", tmp_path / "out")
    assert_one_line_error(res, fragment, "s.toml")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_non_utf8_suite_spec_names_the_file(tmp_path):
    from nsad.instances.suites import SuiteError, load_spec

    p = tmp_path / "latin1.toml"
    p.write_bytes(b'[[family]]\nname = "caf\xe9"\n')
    with pytest.raises(SuiteError, match=f"{p}:2: not UTF-8"):
        load_spec(p)


# ------------------------------------------------------------------------------ database
def _immutable(path: Path) -> bool:
    if os.geteuid() != 0 or shutil.which("chattr") is None:
        return False
    return subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode == 0


def _mutable(path: Path) -> None:
    subprocess.run(["chattr", "-i", str(path)], capture_output=True)


def test_unwritable_database_is_one_line_and_exit_2(tmp_path):
    db = tmp_path / "r.db"
    with ResultStore(db):
        pass
    if os.geteuid() == 0:
        if not _immutable(db):
            pytest.skip("root and no chattr +i here: cannot make a file unwritable")
        try:
            res = nsad("verify", "--n", 3, "--count", 1, "--db", db)
        finally:
            _mutable(db)
    else:
        db.chmod(0o444)
        res = nsad("verify", "--n", 3, "--count", 1, "--db", db)
    assert_one_line_error(res, "cannot be written")


def test_database_that_becomes_unwritable_mid_run_stops_with_a_message_and_keeps_rows(tmp_path):
    """The file-size limit makes the database unwritable after a few rows (portable: no root)."""
    import resource

    db = tmp_path / "r.db"
    with ResultStore(db):
        pass
    cap = db.stat().st_size + 3 * 4096

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (cap, cap))

    args = ["verify", "--n", "5", "6", "--count", "20", "--workers", "1", "--db", db]
    res = nsad(*args, preexec_fn=limit)
    assert_one_line_error(res, "cannot write a row", "rerun the same command to resume")
    with ResultStore(db, readonly=True) as store:
        kept = store.count("verify")
    assert 0 < kept < 40
    again = nsad(*args)  # the rows are intact and the run resumes
    assert again.returncode == 0, again.stderr
    assert f"resuming: {kept} of 40" in again.stderr


_MID_RUN = r"""
import os, subprocess, sys
from nsad.experiments.grid import ExecutorOptions, run_grid
from nsad.experiments.verify import expand_grid
from nsad.errors import StoreError
db = sys.argv[1]
seen = []
def on_row(row):
    seen.append(row)
    if len(seen) == 2:
        subprocess.run("chattr +i " + db + "*", shell=True, check=True)
try:
    run_grid(expand_grid([5], [4.26], 6, 1), db, ExecutorOptions(workers=1), on_row=on_row, progress=False)
except StoreError as exc:
    print("STORE ERROR:", exc)
"""


def test_database_made_immutable_mid_run_is_an_error_not_sigbus(tmp_path):
    """The issue's SIGBUS: with a memory-mapped WAL index, a write after `chattr +i` killed the process."""
    db = tmp_path / "r.db"
    with ResultStore(db):
        pass
    if not _immutable(db):
        pytest.skip("needs root and chattr +i")
    _mutable(db)
    try:
        res = subprocess.run([sys.executable, "-c", _MID_RUN, str(db)], capture_output=True, text=True, env=ENV,
                             timeout=300)
    finally:
        for f in tmp_path.iterdir():
            _mutable(f)
    assert res.returncode == 0, (res.returncode, res.stderr[-500:])
    assert "STORE ERROR:" in res.stdout and "rows written before are kept" in res.stdout
    with ResultStore(db, readonly=True) as store:
        assert store.count("verify") == 2


def test_verify_table_without_primary_key_is_refused(tmp_path, capsys):
    db = tmp_path / "nopk.db"
    con = sqlite3.connect(db)
    con.execute(f"PRAGMA application_id={APPLICATION_ID}")
    con.execute("CREATE TABLE verify (key TEXT, n INTEGER)")
    con.commit()
    con.close()
    for argv in (["verify", "--n", 3, "--count", 1, "--db", db],
                 ["verify", "--n", 3, "--count", 1, "--db", db, "--no-resume"]):
        code = main([str(a) for a in argv])
        _, err = capsys.readouterr()
        assert code == 2 and "no primary key on 'key'" in err and err.count("\n") == 1
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM verify").fetchone()[0] == 0


# ------------------------------------------------------------------------------- summaries
@pytest.mark.parametrize("extra", [["--time-limit", "0.01"], ["--method", "search"]])
def test_verify_never_says_all_agree_unless_everything_was_decided(extra, tmp_path, capsys):
    code = main(["verify", "--n", "8", "--count", "6", "--seed", "3", "--db", str(tmp_path / "r.db"), *extra])
    out, _ = capsys.readouterr()
    assert code == 3, out
    assert "all 6 formulas decided on both sides and agree" not in out and "all agree" not in out
    assert "result: UNDECIDED:" in out
    assert "decided on the formula side" in out and "on the network side" in out


def test_memory_limit_kill_is_recorded_as_memory_limit_exceeded(tmp_path):
    from nsad.experiments.runner import LocalExecutor
    from nsad.experiments.verify import VerifyTask, failure_row

    ex = LocalExecutor(1, memory_limit_mb=1024)
    out = dict(ex.map(_allocate, [8], on_failure=lambda t, reason: {"reason": reason}))
    assert out[8]["reason"] == "memory limit 1024 MB exceeded"
    row = failure_row(VerifyTask(1, 0, 5, 4.26), out[8]["reason"])
    assert row["network_answer"] == row["formula_answer"] == "unknown" and "error" not in row


def _allocate(gb):
    return len(bytearray(gb * 2**30))


# ----------------------------------------------------------------------------- Unix manners
def test_closed_stdout_ends_quietly(tmp_path):
    folder = tmp_path / "f"
    assert main(["generate", "random", "--n", "8", "--ratio", "4", "--count", "60", "--out", str(folder)]) == 0
    files = sorted(str(p) for p in folder.glob("*.cnf"))
    proc = subprocess.Popen([sys.executable, "-m", "nsad", "solve", *files, "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=ENV)
    first = proc.stdout.readline()
    proc.stdout.close()  # what `| head -1` does
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert json.loads(first)["file"] == files[0]
    assert err == "" and proc.returncode == 0


def test_json_gives_every_input_an_object(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"garbage")
    code = main(["decide", str(bad), "--json"])
    out, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1
    (obj,) = [json.loads(line) for line in out.splitlines()]
    assert obj["file"] == str(bad) and "bad.npz" in obj["error"]


def _startup_seconds() -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], env=ENV, check=True)
    return time.perf_counter() - t0


def test_ctrl_c_at_any_moment_gives_one_line_and_130(tmp_path):
    """From the moment the interpreter has started (its own site setup is out of reach), a Ctrl-C
    during imports, argument parsing, worker start or the run ends with one line and 130."""
    start = 2 * _startup_seconds()
    root = str(Path(errors.__file__).resolve().parents[1])  # the repository: frames of nsad code
    for i, delay in enumerate((0.0, 0.1, 0.3, 0.8, 1.5)):
        for attempt in range(3):  # a loaded machine can stretch the interpreter's own start-up past `start`
            proc = subprocess.Popen([sys.executable, "-m", "nsad", "verify", "--n", "8", "10", "--count", "10",
                                     "--db", str(tmp_path / f"c{i}-{attempt}.db")], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, env=ENV)
            time.sleep(start + delay)
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=120)
            before_nsad = "Traceback" in err and root not in err  # landed in site setup: out of reach
            if not before_nsad:
                break
        if proc.returncode == 0:  # finished before the signal
            continue
        assert "Traceback" not in err, (delay, err)
        assert proc.returncode == 130 and error_lines(err) == ["nsad: interrupted"], (delay, proc.returncode, err)


# ------------------------------------------------------------------------------- verify grid
def test_verify_n_10_million_is_refused_before_any_worker_starts(tmp_path):
    res = nsad("verify", "--n", 10_000_000, "--db", tmp_path / "r.db")
    assert_one_line_error(res, "n = 10000000", "max_clauses", "--limit max_clauses=")
    assert not (tmp_path / "r.db").exists()  # refused from the declaration: nothing was opened or started
