"""`nsad check NET CERT.json [--output K]`: exact check of a two-subgradient certificate, at 0 or at a
point (exit 1 on failure)."""

from __future__ import annotations

from nsad.experiments.commands._common import emit_json, nonneg_int


SUMMARY = "check a two-subgradient certificate exactly (at 0 or at a point)"  # the one-line help, listed by `nsad --help` without importing the command


def register(sub) -> None:
    p = sub.add_parser("check", help=SUMMARY,
                       description="Re-derive genericity and both gradients of a certificate with exact integer "
                       "arithmetic. CERT.json holds a 'certificate' object {points, gradients} (e.g. a line of "
                       "`nsad decide --json`); a certificate with 'at' (from `nsad decide --at`) is checked at that "
                       "point on F itself: both points keep the strict sign of every unit nonzero at 'at' (the "
                       "locality condition), are generic, have the stated gradients, and these differ. Exit code 0 "
                       "if it holds, 1 if it fails.")
    p.add_argument("network", help="network file (.npz, .onnx, .cnf)")
    p.add_argument("certificate", help="JSON file with a 'certificate' object")
    p.add_argument("--output", type=nonneg_int, default=None, metavar="K",
                   help="the output the certificate is about (default: the 'output' of the JSON line, else 0)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args) -> int:
    from nsad.experiments.commands._common import read_network
    from nsad.networks import check, read_certificate
    from nsad.solvers.network.local import check_at, read_local_certificate

    net = read_network(args.network)
    local = read_local_certificate(args.certificate)
    if local is not None:
        cert, out = local
        k = args.output if args.output is not None else out
        ok, reason = check_at(net, cert.at, cert, output=k if net.n_outputs > 1 or k else None)
    else:
        res = check(net, read_certificate(args.certificate))
        ok, reason = res.ok, res.reason
    if args.json:
        emit_json({"file": args.network, "certificate": args.certificate, "ok": ok, "reason": reason})
    else:
        print(("OK: " if ok else "FAILED: ") + reason)
    return 0 if ok else 1
