"""`nsad check NET.npz CERT.json`: exact check of a two-subgradient certificate (exit 1 on failure)."""

from __future__ import annotations

from nsad.experiments.commands._common import emit_json


SUMMARY = "check a two-subgradient certificate exactly"  # the one-line help, listed by `nsad --help` without importing the command


def register(sub) -> None:
    p = sub.add_parser("check", help=SUMMARY,
                       description="Re-derive genericity and both gradients of a certificate with exact integer "
                       "arithmetic. CERT.json holds a 'certificate' object {points, gradients} (e.g. a line of "
                       "`nsad decide --json`). Exit code 0 if it holds, 1 if it fails.")
    p.add_argument("network", help="network file (.npz)")
    p.add_argument("certificate", help="JSON file with a 'certificate' object")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args) -> int:
    from nsad.networks import ReluNetwork, check, read_certificate

    net = ReluNetwork.load(args.network)
    cert = read_certificate(args.certificate)
    res = check(net, cert)
    if args.json:
        emit_json({"file": args.network, "certificate": args.certificate, "ok": res.ok, "reason": res.reason})
    else:
        print(("OK: " if res.ok else "FAILED: ") + res.reason)
    return 0 if res.ok else 1
