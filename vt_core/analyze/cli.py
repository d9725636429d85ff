"""``python -m vt_core.analyze RUN_FOLDER``: the command line of ``analyze_run``."""

from __future__ import annotations

import sys

from .. import exit_codes
from ..cli import OneLineParser
from ..overrides import ConfigError
from .settings import AnalysisSettings


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(k) for k in text.split(",") if k.strip())
    except ValueError:
        raise ConfigError(f"--shifts: {text!r} is not a comma-separated list of pixel counts (e.g. 1,2,4,8)") from None


def parser() -> OneLineParser:
    p = OneLineParser(prog="python -m vt_core.analyze",
                      description="Mechanism measures of a finished run, written to RUN_FOLDER/analysis.json "
                                  "(docs/analysis.md).")
    d = AnalysisSettings()
    p.add_argument("run", metavar="RUN_FOLDER", help="a run folder whose run ended (result.json: done)")
    p.add_argument("--images", type=int, default=d.images, help=f"validation images (default {d.images})")
    p.add_argument("--seed", type=int, default=d.seed, help="draws the images and the sampled tokens")
    p.add_argument("--grad-images", type=int, default=d.grad_images,
                   help=f"images for the gradient measures: cross-window dependence, ERF (default {d.grad_images})")
    p.add_argument("--tokens", type=int, default=d.tokens, help="sampled output tokens per window block")
    p.add_argument("--shifts", default="",
                   help="pixel shifts, comma-separated (default: 1, half a patch, a patch, two)")
    p.add_argument("--baseline", metavar="RUN_FOLDER", help="a run of the same data to compare features with (CKA)")
    p.add_argument("--device", default=d.device, help="cpu (default), cuda, cuda:N or auto")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="images per forward pass")
    p.add_argument("--force", action="store_true", help="measure again even when analysis.json is up to date")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from ..run_folder import RunFolderError

    try:
        settings = AnalysisSettings(images=args.images, seed=args.seed, grad_images=args.grad_images,
                                    tokens=args.tokens, shifts=_ints(args.shifts), batch_size=args.batch_size,
                                    device=args.device)
        from .run import ANALYSIS, analyze_run

        result = analyze_run(args.run, settings, args.baseline, force=args.force)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    except RunFolderError as e:
        print(f"error: {e}", file=sys.stderr)
        return exit_codes.FAILED
    took = sum(result.get("seconds", {}).values())
    print(f"{args.run}/{ANALYSIS}: {len(result['attention_distance'])} attention blocks, "
          f"{len(result['cross_window'])} window blocks, {len(result['erf'])} ERF levels"
          + (f", CKA vs {args.baseline}" if result.get("cka") else "") + f" ({took:.1f} s)")
    return exit_codes.OK
