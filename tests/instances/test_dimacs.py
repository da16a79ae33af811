"""DIMACS reading and writing: strict errors naming the line, SATLIB quirks, round trips, fuzzing."""

from __future__ import annotations

import gzip
import io
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from nsad.instances import Cnf, DimacsError, format_dimacs, parse_dimacs, random_ksat, read_dimacs, write_dimacs
from nsad.errors import LimitError
from nsad.instances.dimacs import _PROVENANCE, _parse_fast, _parse_slow

# ------------------------------------------------------------------------------ malformed inputs
MALFORMED = [
    # (text, line, fragment of the message)
    ("", 1, "missing header: expected 'p cnf <variables> <clauses>' before the end of the file"),
    ("c only a comment\n", 1, "missing header"),
    ("c one\nc two\n\n", 3, "missing header"),
    ("1 2 0\np cnf 2 1\n", 1, "clause before the header"),
    ("c x\n\n-1 0\n", 3, "clause before the header"),
    ("%\n0\n", 1, "missing header: expected 'p cnf <variables> <clauses>' before the '%' trailer"),
    ("p cnf 3 2\n1 2 0\n", 2, "the header on line 1 declares 2 clauses but 1 were found"),
    ("p cnf 3 2\n1 2 0\n%\n0\n", 3, "declares 2 clauses but 1 were found before the '%' trailer"),
    ("p cnf 3 1\n1 2 0\n3 0\n", 3, "more clauses than the 1 declared in the header on line 1"),
    ("p cnf 3 1\n1 2 0\n0\n", 3, "more clauses than the 1"),  # a lone 0 without the % trailer
    ("p cnf 3 0\n0\n", 2, "more clauses than the 0"),
    ("p cnf 3 1\n1 2 0 -3\n", 2, "more clauses than the 1"),
    ("p cnf 3 1\n1 4 0\n", 2, "literal 4 is out of range: the header declares 3 variables"),
    ("p cnf 3 1\n-4 1 0\n", 2, "literal -4 is out of range"),
    ("c\n\n\np cnf 3 1\n\n 1\n -2\n\n 5 0\n", 9, "literal 5 is out of range"),
    ("p cnf 2 1\n1 99999999999999999999999 0\n", 2, "literal 99999999999999999999999 is out of range"),
    ("p cnf 3 1\n1 x 0\n", 2, "expected an integer literal or 0, found 'x'"),
    ("p cnf 3 1\n1 2.5 0\n", 2, "found '2.5'"),
    ("p cnf 3 1\n1 --2 0\n", 2, "found '--2'"),
    ("p cnf 3 1\n1 +2 0\n", 2, "found '+2'"),
    ("p cnf 3 1\n1 2- 0\n", 2, "found '2-'"),
    ("p cnf 3 1\n1 - 2 0\n", 2, "found '-'"),
    ("p cnf 3 1\n1 2 0 extra\n", 2, "found 'extra'"),
    ("p cnf 3 1\n1 2 0 % trailing\n", 2, "found '%'"),
    ("p cnf 3 1\n1 \u00a02 0\n", 2, "expected an integer literal"),  # a no-break space is no blank
    ("p cnf 3 1\n1 \u0663 0\n", 2, "expected an integer literal"),  # an Arabic-Indic digit
    ("p cnf 3 1\np cnf 3 1\n1 0\n", 2, "second header: the header is already on line 1"),
    ("p cnf 3 2\n1 0\np cnf 3 1\n2 0\n", 3, "second header"),
    ("p cnf 3 1\n1 2\n", 2, "the clause starting on this line is not terminated by 0 before the end of the file"),
    ("p cnf 3 1\n1\n2\n3", 2, "not terminated by 0"),
    ("p cnf 3 2\n1 0\n1 2\n%\n0\n", 3, "not terminated by 0 before the '%' trailer"),
    ("p cnf 3\n1 0\n", 1, "expected header 'p cnf <variables> <clauses>', found 'p cnf 3'"),
    ("p cnf 3 1 0\n1 0\n", 1, "expected header"),
    ("p cnf -3 1\n", 1, "expected header"),
    ("p cnf 3 +1\n", 1, "expected header"),
    ("p cnf three 1\n", 1, "expected header"),
    ("pcnf 3 1\n", 1, "expected header"),
    ("p\n", 1, "expected header"),
    ("p wcnf 3 1 10\n", 1, "found format 'wcnf' (only cnf is read)"),
    ("c x\np dnf 3 1\n", 2, "found format 'dnf'"),
    ("p cnf 0 0\n", 1, "the header declares 0 variables; at least 1 is required"),
    ("p cnf 99999999999999999999 1\n", 1, "at most 2**62"),
    ("c nsad seed: x\np cnf 1 0\n", 1, "expected a non-negative integer after 'nsad seed:'"),
    ("c nsad index: -1\np cnf 1 0\n", 1, "expected a non-negative integer after 'nsad index:'"),
    ("c nsad seed: 1\nc nsad seed: 2\np cnf 1 0\n", 2, "second 'nsad seed' comment (the first is on line 1)"),
    ("c nsad parameters: [1]\np cnf 1 0\n", 1, "expected a JSON object"),
    ("c nsad parameters: {\np cnf 1 0\n", 1, "expected a JSON object"),
    ("c nsad family:\np cnf 1 0\n", 1, "expected a family name"),
    ("c nsad planted: 1\np cnf 2 0\n", 1, "signed variables 1..2 in order"),
    ("c nsad planted: 2 1\np cnf 2 0\n", 1, "signed variables 1..2 in order"),
    ("c nsad planted: --1\np cnf 1 0\n", 1, "signed variables 1..1"),
    ("c\nc nsad planted: -1\np cnf 1 1\n1 0\n", 2, "the planted assignment does not satisfy the formula"),
]


@pytest.mark.parametrize("text, line, fragment", MALFORMED)
def test_malformed_input_names_the_line(text, line, fragment):
    with pytest.raises(DimacsError) as info:
        parse_dimacs(text, name="bad.cnf")
    message = str(info.value)
    assert message.startswith(f"bad.cnf:{line}: "), message
    assert fragment in message
    assert "\n" not in message
    assert (info.value.name, info.value.line) == ("bad.cnf", line)


@pytest.mark.parametrize(
    "data, line, fragment",
    [
        (b"p cnf 3 1\n1 \xff 0\n", 2, "expected an integer literal or 0, found '\\\\xff'"),
        (b"p cnf 3 1\n1 \x00 0\n", 2, "expected an integer literal"),
        (b"c caf\xe9\np cnf 1 0\n", 1, "a comment is not valid UTF-8 text"),
        (b"p cnf 1 0\nc ok\nc \xc3\n", 3, "not valid UTF-8"),
        (b"\x1f\x8bnot gzip at all", 1, "corrupt gzip data"),
        (gzip.compress(b"p cnf 1 1\n1 0\n")[:-6], 1, "corrupt gzip data"),
        (gzip.compress(b"p cnf 1 1\n2 0\n"), 2, "literal 2 is out of range"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", 1, "expected an integer literal"),
    ],
)
def test_malformed_bytes(data, line, fragment):
    with pytest.raises(DimacsError) as info:
        parse_dimacs(data, name="b.cnf")
    assert str(info.value).startswith(f"b.cnf:{line}: ")
    assert fragment in str(info.value)


def test_dimacs_error_pickles_and_is_a_value_error():
    import pickle

    error = DimacsError("f.cnf", 7, "what was expected")
    back = pickle.loads(pickle.dumps(error))
    assert str(back) == str(error) == "f.cnf:7: what was expected"
    assert (back.name, back.line, back.reason) == ("f.cnf", 7, "what was expected")
    assert isinstance(back, ValueError)


def test_error_names_the_file_path(tmp_path):
    path = tmp_path / "broken.cnf"
    path.write_text("p cnf 2 1\n1 3 0\n")
    with pytest.raises(DimacsError, match=re.escape(f"{path}:2: literal 3 is out of range")):
        read_dimacs(path)
    with pytest.raises(DimacsError, match=re.escape(f"{path}:2: ")):
        read_dimacs(str(path))


def test_unreadable_files_are_dimacs_errors_naming_the_file(tmp_path):
    with pytest.raises(DimacsError, match=re.escape(f"{tmp_path / 'absent.cnf'}: no such file")):
        read_dimacs(tmp_path / "absent.cnf")
    with pytest.raises(DimacsError, match="is a directory"):
        read_dimacs(tmp_path)


def test_surrogates_in_text_are_dimacs_errors():
    with pytest.raises(DimacsError, match=r"<string>:1: a comment is not valid UTF-8"):
        parse_dimacs("c \udc80\np cnf 1 0\n")
    with pytest.raises(DimacsError, match=r"<string>:2: expected an integer"):
        parse_dimacs("p cnf 1 1\n\udc80 0\n")


# ------------------------------------------------------------------------------- SATLIB quirks
def test_satlib_quirks():
    text = (
        "c This Formular is generated by mcnf\n"
        "c\n"
        "c    horn? no \n"
        "p cnf 5  4 \n"
        " 1 -2\t3 0\n"
        "\t-4  5\n"
        "   -1 0 2 0\n"
        "\n"
        "3 -5 0\n"
        "%\n"
        "0\n"
        "\n"
    )
    cnf = parse_dimacs(text)
    assert cnf.num_vars == 5
    assert cnf.clauses == ((1, -2, 3), (-4, 5, -1), (2,), (3, -5))
    assert cnf.comments == ("This Formular is generated by mcnf", "", "   horn? no ")


def test_trailer_stops_reading_whatever_follows():
    cnf = parse_dimacs("p cnf 2 1\n1 -2 0\n%\n0\ngarbage \xff here\np cnf 9 9\n")
    assert cnf.clauses == ((1, -2),)
    assert parse_dimacs(b"p cnf 2 1\n1 -2 0\n  %  \n\xff\xfe\n").clauses == ((1, -2),)


def test_crlf_bom_and_blank_variants():
    text = "\ufeffc win\r\np cnf 2 2\r\n1 2 0\r\n\x0b-1 0\x0c\r\n"
    cnf = parse_dimacs(text)
    assert cnf.clauses == ((1, 2), (-1,)) and cnf.comments == ("win",)


def test_comments_anywhere_are_kept_in_order():
    cnf = parse_dimacs("c a\np cnf 2 2\n1 0\nc b\n  c  c\n2\nc inside a clause\n0\n")
    assert cnf.clauses == ((1,), (2,))
    assert cnf.comments == ("a", "b", " c", "inside a clause")


def test_minus_zero_and_leading_zeros():
    assert parse_dimacs("p cnf 12 2\n012 -0 -0\n").clauses == ((12,), ())


def test_empty_clauses_and_no_clauses():
    assert parse_dimacs("p cnf 3 0\n").clauses == ()
    assert parse_dimacs("p cnf 3 0").num_vars == 3
    assert parse_dimacs("p cnf 3 2\n0\n0\n").clauses == ((), ())


def test_gzip_input(tmp_path):
    text = "c zipped\np cnf 3 2\n1 -2 0\n3 0\n"
    path = tmp_path / "a.cnf.gz"
    path.write_bytes(gzip.compress(text.encode()))
    assert read_dimacs(path) == parse_dimacs(text)
    assert read_dimacs(path).comments == ("zipped",)
    plain_named = tmp_path / "a.cnf"  # gzip is recognised by its magic bytes, not the name
    plain_named.write_bytes(gzip.compress(text.encode()))
    assert read_dimacs(plain_named) == parse_dimacs(text)


def test_read_from_file_objects():
    text = "p cnf 2 1\n1 2 0\n"
    assert read_dimacs(io.StringIO(text)).clauses == ((1, 2),)
    assert read_dimacs(io.BytesIO(text.encode())).clauses == ((1, 2),)
    with pytest.raises(DimacsError, match=r"^<file>:2: "):
        read_dimacs(io.BytesIO(b"p cnf 2 1\n1 3 0\n"))


# ------------------------------------------------------------------------------- writing
def test_format_exact_text():
    cnf = Cnf(3, [(1, -2, 3), (-2,), (-3,)], comments=("first", "", " indented"), family="toy",
              parameters={"n": 3, "ratio": None}, seed=5, index=2, planted=(True, False, False))
    lines = format_dimacs(cnf).split("\n")
    assert lines[0].startswith("c nsad version: ")
    assert lines[1:] == [
        "c nsad family: toy",
        'c nsad parameters: {"n": 3, "ratio": null}',
        "c nsad seed: 5",
        "c nsad index: 2",
        "c nsad planted: 1 -2 -3",
        "c first",
        "c",
        "c  indented",
        "p cnf 3 3",
        "1 -2 3 0",
        "-2 0",
        "-3 0",
        "",
    ]


def test_format_empty_clauses():
    assert format_dimacs(Cnf(2, [(), (1,), ()])).endswith("\np cnf 2 3\n0\n1 0\n0\n")
    assert format_dimacs(Cnf(2, [])).endswith("\np cnf 2 0\n")


def test_format_large_variable_numbers_use_the_sparse_vocabulary():
    from nsad.limits import limits

    cnf = Cnf(10**9, [(10**9, -1), (5,)])
    assert format_dimacs(cnf).endswith("p cnf 1000000000 2\n1000000000 -1 0\n5 0\n")
    with limits(max_vars=10**9):  # beyond the default max_vars: raised explicitly
        assert parse_dimacs(format_dimacs(cnf)) == cnf


def test_version_line_uses_the_installed_version(monkeypatch):
    import importlib.metadata as md

    from nsad.instances.dimacs import nsad_version

    nsad_version.cache_clear()  # the version is looked up once per process
    monkeypatch.setattr(md, "version", lambda name: "9.8.7")
    assert format_dimacs(Cnf(1, [])).startswith("c nsad version: 9.8.7\n")
    nsad_version.cache_clear()

    def missing(name):
        raise md.PackageNotFoundError(name)

    monkeypatch.setattr(md, "version", missing)
    assert format_dimacs(Cnf(1, [])).startswith("c nsad version: 0+unknown\n")
    nsad_version.cache_clear()


def test_write_to_paths_and_files(tmp_path):
    cnf = random_ksat(10, m=30, seed=1)
    write_dimacs(cnf, tmp_path / "f.cnf")
    assert (tmp_path / "f.cnf").read_text() == format_dimacs(cnf)
    write_dimacs(cnf, str(tmp_path / "f.cnf.gz"))
    raw = (tmp_path / "f.cnf.gz").read_bytes()
    assert raw[:2] == b"\x1f\x8b" and gzip.decompress(raw).decode() == format_dimacs(cnf)
    write_dimacs(cnf, str(tmp_path / "g.cnf.gz"))
    assert (tmp_path / "g.cnf.gz").read_bytes() == raw  # gzip without a time stamp: reproducible
    text_buffer, byte_buffer = io.StringIO(), io.BytesIO()
    write_dimacs(cnf, text_buffer)
    write_dimacs(cnf, byte_buffer)
    assert text_buffer.getvalue() == byte_buffer.getvalue().decode() == format_dimacs(cnf)
    with open(tmp_path / "h.cnf", "w") as handle:
        write_dimacs(cnf, handle)
    for name in ("f.cnf", "f.cnf.gz", "h.cnf"):
        back = read_dimacs(tmp_path / name)
        assert back == cnf and back.seed == 1 and back.family == "random-ksat"


def test_format_rejects_non_cnf():
    with pytest.raises(TypeError):
        format_dimacs([(1, 2)])


def test_provenance_only_before_the_header_and_unknown_keys_stay_comments():
    cnf = parse_dimacs("c nsad colour: blue\nc nsad version: 0.0.1\np cnf 1 0\nc nsad seed: 3\n")
    assert cnf.seed is None
    assert cnf.comments == ("nsad colour: blue", "nsad seed: 3")


# ------------------------------------------------------------------------------- round trips
one_line = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=12)


@st.composite
def cnfs(draw):
    n = draw(st.integers(1, 7))
    lit = st.integers(1, n).flatmap(lambda v: st.sampled_from((v, -v)))
    clauses = draw(st.lists(st.lists(lit, max_size=4), max_size=8))
    comments = tuple(draw(st.lists(one_line, max_size=3)))
    assume(not any(_PROVENANCE.fullmatch(c) for c in comments))
    family = draw(st.none() | one_line.map(str.strip).filter(lambda s: s and s == s.strip()))
    scalar = st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False) | one_line
    parameters = draw(st.dictionaries(one_line, scalar, max_size=3))
    seed = draw(st.none() | st.integers(0, 2**64))
    index = draw(st.none() | st.integers(0, 1000))
    cnf = Cnf(n, clauses, comments, family, parameters, seed, index=index)
    assignment = tuple(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    if draw(st.booleans()) and cnf.satisfied_by(assignment):
        cnf = cnf.replace(planted=assignment)
    return cnf


def provenance(cnf):
    return (cnf.comments, cnf.family, dict(cnf.parameters), cnf.seed, cnf.index, cnf.planted)


@settings(max_examples=150, deadline=None)
@given(cnfs())
def test_round_trip(cnf):
    text = format_dimacs(cnf)
    back = parse_dimacs(text)
    assert back == cnf and back.num_vars == cnf.num_vars
    assert provenance(back) == provenance(cnf)
    assert format_dimacs(back) == text
    assert parse_dimacs(gzip.compress(text.encode())) == cnf


def test_round_trip_large():
    cnf = random_ksat(3000, m=20000, k=4, seed=3)
    back = parse_dimacs(format_dimacs(cnf))
    assert back == cnf and provenance(back) == provenance(cnf)


# --------------------------------------------------------------- fast path == careful line scan
token = st.sampled_from(["0", "1", "-1", "2", "-2", "3", "-3", "4", "-0", "00", "x", "1.5", "--1", "-", "%", "c"])
blank = st.sampled_from(["", " ", "  ", "\t", "\r", "\x0b"])


@st.composite
def dimacs_like(draw):
    """Near-valid DIMACS: a valid file with SATLIB quirks, then zero to two random mistakes."""
    n = draw(st.integers(1, 4))
    literal = st.integers(1, n).flatmap(lambda v: st.sampled_from((v, -v)))
    clauses = draw(st.lists(st.lists(literal, max_size=3), max_size=5))
    tokens = [str(t) for c in clauses for t in c + [0]]
    # regroup the tokens into lines: clauses may span lines, a line may hold several clauses
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(tokens))), max_size=len(tokens))))
    body = [" ".join(tokens[a:b]) for a, b in zip([0] + cuts, cuts + [len(tokens)]) if a < b]
    comments = ["c " + draw(one_line) for _ in range(draw(st.integers(0, 2)))]
    header = draw(st.sampled_from([f"p cnf {n} {len(clauses)}", f"p cnf {n}  {len(clauses)} "]))
    lines = comments + [header] + body
    for _ in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(["tokens", "comment", "blank", "trailer", "header", "count", "drop", "move"]))
        where = draw(st.integers(0, len(lines)))
        if kind == "tokens":
            lines.insert(where, draw(blank).join(draw(st.lists(token, min_size=1, max_size=3))))
        elif kind == "comment":
            lines.insert(where, "c" + draw(one_line))
        elif kind == "blank":
            lines.insert(where, draw(blank))
        elif kind == "trailer":
            lines.insert(where, draw(st.sampled_from(["%", "%\n0", " %\n0\n"])))
        elif kind == "header":
            lines.insert(where, draw(st.sampled_from([header, "p cnf", f"p cnf 0 {len(clauses)}", "p dnf 1 1"])))
        elif kind == "count" and header in lines:
            lines[lines.index(header)] = f"p cnf {draw(st.integers(0, 5))} {draw(st.integers(0, 6))}"
        elif kind == "drop" and body:
            lines[-1] = lines[-1].rsplit(" 0", 1)[0] if " 0" in lines[-1] else lines[-1]
        elif kind == "move" and header in lines:
            lines.remove(header)
            lines.insert(where if where < len(lines) else 0, header)
    lines = [draw(blank) + line + draw(blank) for line in lines]
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\n\n"]))


def outcome(function, data):
    try:
        parsed = function(data, "x")
    except (DimacsError, LimitError) as exc:
        return ("error", str(exc))
    if parsed is None:
        return None
    return ("ok", parsed.num_vars, parsed.num_clauses, parsed.header_line, parsed.comments,
            parsed.literals.tolist(), parsed.offsets.tolist())


@settings(max_examples=400, deadline=None)
@given(dimacs_like())
@example("p cnf 3 2\n1 -2 0\n  3 0 %\n")
@example("p cnf 3 1\n1 2 0\n %\n0\n")
def test_fast_path_agrees_with_line_scan(text):
    data = text.encode()
    slow = outcome(_parse_slow, data)
    fast = outcome(_parse_fast, data)
    if fast is not None:
        assert fast == slow
    try:
        cnf = parse_dimacs(data, name="x")
    except (DimacsError, LimitError) as exc:
        assert slow[0] == "error" and str(exc) == slow[1]
    else:
        assert slow[0] == "ok" and cnf.literals.tolist() == slow[5] and cnf.offsets.tolist() == slow[6]


def test_fast_path_is_taken_on_plain_files():
    data = format_dimacs(random_ksat(50, m=218, seed=0)).encode()
    assert _parse_fast(data, "x") is not None
    assert _parse_fast(b"p cnf 2 1\n1 0\nc late comment\n", "x") is None


# ------------------------------------------------------------------------------- fuzzing
@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
@example("p cnf 1 1\n\udcff 0")
@example("p cnf 3 1\n1 2 3\n")
@example("p cnf 10000001 0")
def test_fuzz_text_only_dimacs_errors(text):
    try:
        cnf = parse_dimacs(text)
    except (DimacsError, LimitError) as exc:
        assert re.match(r"<string>:\d+: \S", str(exc)) and "\n" not in str(exc)
    else:
        assert isinstance(cnf, Cnf)


def _gzipped(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.binary(max_size=200)
    | st.binary(max_size=100).map(lambda b: b"p cnf 3 2\n" + b)
    | st.binary(max_size=60).map(lambda b: b"\x1f\x8b" + b)
    | st.binary(max_size=60).map(_gzipped)
    | dimacs_like().map(lambda t: _gzipped(t.encode()))
)
@example(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff")
def test_fuzz_bytes_through_a_file_only_dimacs_errors(tmp_path_factory, data):
    path = tmp_path_factory.getbasetemp() / "fuzz.cnf"
    path.write_bytes(data)
    try:
        cnf = read_dimacs(path)
    except (DimacsError, LimitError) as exc:
        assert str(exc).startswith(f"{path}:") and "\n" not in str(exc)
    else:
        assert isinstance(cnf, Cnf)
        assert np.all(np.abs(cnf.literals) <= cnf.num_vars)
