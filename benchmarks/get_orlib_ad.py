"""Put OR-Library's weighted set-cover files A-D (``scpa1`` .. ``scpd5``) beside the others.

The 20 files (J. E. Beasley, "An algorithm for set covering problems", EJOR 31 (1987)
85-93; distributed freely for research and testing) are 4.5 MB of text, more than the
repository ships: ``data/orlib_scp/`` holds 4.x-6.x and e.x, and ``.gitignore`` keeps
these out of commits. This script copies them, byte-checked against the SHA-256 sums
below (those of ``pinam45/USCP_instances`` commit 63f47d1, folder ``OR-Library/``, the
source of the shipped files), into ``data/orlib_scp/`` (or ``--to``), where
``benchmarks/orlib_engine.py`` finds them by default. Sources, first that applies:

    python3 benchmarks/get_orlib_ad.py --from /path/to/USCP_instances    # a clone, or a folder of the files
    python3 benchmarks/get_orlib_ad.py --git-dir /path/to/USCP_instances.git   # a bare mirror
    python3 benchmarks/get_orlib_ad.py                                   # download (pinned commit)

The optima of A-D are in ``data/orlib_scp/optima.csv`` (Beasley's published values).
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import urllib.request
from pathlib import Path

COMMIT = "63f47d103df49dca061539e99a05aea363d301ed"
URL = f"https://raw.githubusercontent.com/pinam45/USCP_instances/{COMMIT}/OR-Library/{{name}}.txt"
SHA256 = {
    "scpa1": "e47f63dcaf249b141396a0ad9dbb34ace7b97de3d5554907e0bbf5389a5bf39d",
    "scpa2": "e8fd17b3e0e505c905531d561f4f594a592d23963fb4bff4115fcf0e58b307de",
    "scpa3": "f94819f246404fec3e84ea05c04dacca271a1c8f93cfb2dc398dd693d9eda7a9",
    "scpa4": "bee46166d53b16141d0148cbe25b16da358bb0de8b7b2ae935c70a302cd481d3",
    "scpa5": "676c40fc9a984507922345cefb59a6b1f5ff42256e8913e4d470d151eb625255",
    "scpb1": "301b3235b29af5e20f4f4478d5e0f8a472ade9139495fb74d8a9c70811c91fc1",
    "scpb2": "d89600b2f4c6300199063aa84346e537819e2ff7837873e911ba2fdeefd059ff",
    "scpb3": "fb76451bf349d1ecdbcfad1dbf12902e901a306b5caa9be78095ea7860cb0924",
    "scpb4": "2af8da888923351f192fc7b604e8b3aca58fdb7b65dfa9660a824669742b6e22",
    "scpb5": "ba760cb95a5294a4b64f8fbddb67f4030833f89817c869d64d94208d4b1a72cf",
    "scpc1": "2edb7c60a7b237184d2d1bd2e0548626e7cb68274fb5ed8729ff3c96274f30b4",
    "scpc2": "e5eee8ff791b3cef6d798d22de4adef0c29ace58c956557c9ac57e2366f04b4c",
    "scpc3": "ee57a67bdedf79cd8fd4db862d5c24534a29ce485b11a67d18e07107bdf2e515",
    "scpc4": "50f6664962ab5310c0f69cd1c7279da4a8df6ababe6b1ff8af6817e44d606b6c",
    "scpc5": "964524c45719d928d9f8f78da721e118c8cd5ca3e8406b25e74e7499bb9911ac",
    "scpd1": "df385a06892e9c72f70555a08187407d38322a7b2a4a0ef8c7f8c5b0cf72a9f5",
    "scpd2": "d7f1f02605500b679842e5c83d90dd30caee92fa4384bee4940d9719c63e6be2",
    "scpd3": "e22e632b7392bf13dc7cf322130a7ab1239b0bcbfda511856d81fb73ecd99ee4",
    "scpd4": "735a292f127584092bdb62941e042f44cbf7c93d8d9c7468d6a97c9d5548ccb0",
    "scpd5": "52aa055bd3ef900a451a7c665e72677dc989010e12287edca1ee4bf9550fa1b7",
}
DEFAULT_TO = Path(__file__).resolve().parents[1] / "data" / "orlib_scp"


def _from_folder(folder: Path, name: str) -> bytes:
    for candidate in (folder / "OR-Library" / f"{name}.txt", folder / f"{name}.txt"):
        if candidate.is_file():
            return candidate.read_bytes()
    raise FileNotFoundError(f"{name}.txt not in {folder} nor {folder / 'OR-Library'}")


def _from_git(git_dir: Path, name: str) -> bytes:
    return subprocess.run(["git", f"--git-dir={git_dir}", "show", f"{COMMIT}:OR-Library/{name}.txt"],
                          check=True, capture_output=True).stdout


def _download(name: str) -> bytes:
    with urllib.request.urlopen(URL.format(name=name), timeout=60) as resp:
        data: bytes = resp.read()
    return data


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = p.add_mutually_exclusive_group()
    src.add_argument("--from", dest="folder", type=Path,
                     help="a clone of USCP_instances, or a folder of the files")
    src.add_argument("--git-dir", type=Path,
                     help=f"a (bare) git repository of USCP_instances holding commit {COMMIT[:7]}")
    p.add_argument("--to", type=Path, default=DEFAULT_TO, help=f"target folder (default {DEFAULT_TO})")
    args = p.parse_args(argv)
    args.to.mkdir(parents=True, exist_ok=True)
    bad = 0
    for name, digest in SHA256.items():
        target = args.to / f"{name}.txt"
        if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == digest:
            continue
        if args.folder:
            data = _from_folder(args.folder, name)
        elif args.git_dir:
            data = _from_git(args.git_dir, name)
        else:
            data = _download(name)
        if hashlib.sha256(data).hexdigest() != digest:
            print(f"{name}: SHA-256 differs from the pinned file; not written", file=sys.stderr)
            bad += 1
            continue
        target.write_bytes(data)
    print(f"{len(SHA256) - bad} of {len(SHA256)} A-D files in {args.to}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
