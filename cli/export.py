"""`ddpg-robot export RUN_DIR_OR_CHECKPOINT`: write the actor as a verified ONNX policy."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def export(
    source: Annotated[Path, typer.Argument(help="A run dir, or a .pt checkpoint.")],
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Output .onnx (default: RUN_DIR/policy.onnx)."),
    ] = None,
    checkpoint: Annotated[
        str, typer.Option(help="In a run dir: best (falls back to last) or last.")
    ] = "best",
    control_dt: Annotated[
        float | None,
        typer.Option(help="Seconds between actions (default: the env's dt)."),
    ] = None,
    relabel: Annotated[
        bool,
        typer.Option(
            "--relabel",
            help="SOURCE is an exported .onnx: write the action and observation names its env "
            "tells into its metadata (in place, or to -o); graph and weights stay byte for byte.",
        ),
    ] = False,
) -> None:
    """Export a trained actor to ONNX (normalisation, bounds and metadata inside)."""
    from ddpg_robot.errors import DDPGRobotError

    if relabel or source.suffix == ".onnx":
        if not relabel:
            raise DDPGRobotError(
                f"{source} is already an ONNX policy: export takes a run dir or a .pt "
                "checkpoint; to write names into this file, add --relabel"
            )
        if control_dt is not None:
            raise DDPGRobotError("--relabel changes names only; --control-dt needs an export")
        from ddpg_robot.relabel import relabel_policy

        done = relabel_policy(source, output)
        named = ", ".join(f"{key} ({len(value)})" for key, value in done.names.items())
        typer.echo(f"wrote {done.path}: {named} from {done.env_id}; graph and weights unchanged")
        return
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
