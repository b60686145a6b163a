"""The `jobcontracts` command line."""

from __future__ import annotations

import argparse
import sys

from .apis import API_NAMES, api_support


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jobcontracts", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser(
        "serve", help="serve an embedded simulator over HTTP (a mock server for clients)")
    serve.add_argument("api", choices=API_NAMES)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--fault", action="append", default=[], metavar="NAME",
                       help="break one rule on purpose (repeatable)")
    serve.add_argument("--speed", type=float, default=1.0,
                       help="scale simulated durations: 60 runs a 32-minute generation in 32 s")
    serve.add_argument("--seed", type=int, default=0)
    serve.add_argument("--variant", type=int, default=0, metavar="N",
                       help="play lawful variant N: the choices the documents leave open "
                            "(check order, refusals, timing, texts); 0 is the reference")
    serve.add_argument("--api-key", action="append", default=[], metavar="KEY",
                       help="a key the server accepts (default: the simulator's test key)")
    serve.add_argument("--drift", action="append", default=[], metavar="NAME",
                       help="change behaviour lawfully, as a regression would (repeatable)")

    from .recordings import verify

    verify_parser = commands.add_parser(
        "verify", help="judge recorded traffic (cassettes, HAR files) offline")
    verify.add_arguments(verify_parser)

    openapi = commands.add_parser(
        "openapi", help="print a contract as an OpenAPI 3.1 document (what schemathesis fuzzes)")
    openapi.add_argument("contract", metavar="NAME",
                         help="specstep, pos, interrogation, or a path to a contract file")
    openapi.add_argument("--contracts-dir", default=None, metavar="DIR")
    openapi.add_argument("--output", "-o", default=None, metavar="FILE")

    from .load import cli as load_cli

    load_parser = commands.add_parser(
        "load", help="judge the contract under concurrent load (Locust users and workers)")
    load_cli.add_arguments(load_parser)

    from .diff import cli as diff_cli

    diff_parsers = diff_cli.add_commands(commands)

    args = parser.parse_args(argv)
    if args.command == "openapi":
        return _openapi(args)
    if args.command == "serve":
        return _serve(parser, args)
    if args.command == "verify":
        return verify.run(args, verify_parser)
    if args.command in diff_parsers:
        return diff_cli.run(args, diff_parsers[args.command])
    if args.command == "load":
        return load_cli.run(args, load_parser)
    return 2


def _serve(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from .serve import serve

    support = api_support(args.api)
    unknown = [f for f in args.fault if f not in support.faults]
    if unknown:
        parser.error(f"unknown fault(s) {unknown} for {args.api}; known: "
                     f"{', '.join(sorted(support.faults))}")
    from .sims.drift import drifts_of

    drifts = drifts_of(args.api)
    unknown = [d for d in args.drift if d not in drifts]
    if unknown:
        parser.error(f"unknown drift(s) {unknown} for {args.api}; known: "
                     f"{', '.join(sorted(drifts)) or 'none'}")
    if args.speed <= 0:
        parser.error("--speed must be positive")
    if args.variant < 0:
        parser.error("--variant must be a whole number >= 0")
    keys = args.api_key or [support.api_key]
    faults = f", faults: {', '.join(args.fault)}" if args.fault else ""
    variant = f", variant {args.variant}" if args.variant else ""
    variant += f", drifts: {', '.join(args.drift)}" if args.drift else ""
    print(f"jobcontracts: serving the {args.api} simulator on http://{args.host}:{args.port} "
          f"(speed {args.speed:g}x{faults}{variant}); API key: {keys[0]}", file=sys.stderr,
          flush=True)
    serve(args.api, host=args.host, port=args.port, speed=args.speed, faults=args.fault,
          seed=args.seed, api_keys=keys, variant=args.variant, drifts=args.drift)
    return 0


def _openapi(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .loader import ContractError, load_contract
    from .openapi_export import dump, export
    from .recordings.verify import contract_path

    try:
        text = dump(export(load_contract(contract_path(args.contract, args.contracts_dir))))
    except (ContractError, ValueError, OSError) as exc:
        print(f"jobcontracts openapi: {exc}", file=sys.stderr)
        return 2
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
