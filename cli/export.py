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
    control_dt: Annotated[
        float | None,
        typer.Option(help="Seconds between actions [default: the env's dt]."),
    ] = None,
) -> None:
    """Export a trained actor to ONNX (normalisation, bounds and metadata inside)."""
    from ddpg_robot.export import export_policy

    report = export_policy(source, output, checkpoint=checkpoint, control_dt=control_dt)
    meta = report.metadata
    typer.echo(
        f"wrote {report.path} from {report.checkpoint} "
        f"({meta['env_id']}, obs_dim {meta['obs_dim']}, act_dim {meta['act_dim']}, "
        f"{meta['actor_head']} head, {report.path.stat().st_size / 1024:.0f} KiB)"
    )
    kinds = report.parity.kinds
    numeric = ", ".join(
        f"{name} {kinds[name].max_abs_diff:.1e} ({kinds[name].max_ratio:.2f} of the bound)"
        for name in ("real", "gaussian") if name in kinds
    )  # fmt: skip
    typer.echo(
        f"onnxruntime vs torch, worst |diff| on {sum(k.count for k in kinds.values()):,} "
        f"observations: {numeric}; extreme inputs finite, in bounds, saturated alike"
    )
    if report.real_note is not None:
        typer.echo(f"note: no real observations were probed ({report.real_note})")
