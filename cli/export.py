"""`ddpg-robot export RUN_DIR_OR_CHECKPOINT`: write the actor as a verified ONNX policy."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def export(
    source: Annotated[Path, typer.Argument(help="A run dir, or a .pt checkpoint.")],
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Output .onnx [default: RUN_DIR/policy.onnx]."),
    ] = None,
    checkpoint: Annotated[
        str, typer.Option(help="In a run dir: best (falls back to last) or last.")
    ] = "best",
) -> None:
    """Export a trained actor to ONNX (normalisation, bounds and metadata inside)."""
    from ddpg_robot.export import PARITY_TOLERANCE, export_policy

    report = export_policy(source, output, checkpoint=checkpoint)
    meta = report.metadata
    typer.echo(
        f"wrote {report.path} from {report.checkpoint} "
        f"({meta['env_id']}, obs_dim {meta['obs_dim']}, act_dim {meta['act_dim']}, "
        f"{meta['actor_head']} head, {report.path.stat().st_size / 1024:.0f} KiB)"
    )
    typer.echo(
        f"onnxruntime vs torch on {report.parity_samples} observations: max |diff| "
        f"{report.max_abs_diff:.2e} (limit {PARITY_TOLERANCE:g})"
    )
