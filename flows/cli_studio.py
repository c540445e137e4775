"""`defectforge studio`: the spec studio, a local web page to author a line's defects.yaml."""

from __future__ import annotations

from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add `studio` to the root app."""

    @app.command("studio")
    def studio(
        dataset: Annotated[str, typer.Option("--dataset", help="product line (datasets/NAME/)")],
        port: Annotated[int, typer.Option("--port", help="port on 127.0.0.1")] = 7860,
    ) -> None:
        """Edit datasets/NAME/defects.yaml in the browser: problems as you type, preview of masks, edge map and class map on the line's clean parts, samples from its trained generator, atomic save (comments kept)."""
        from flows.studio_actions import open_line
        from flows.studio_app import serve

        line = open_line(dataset)
        typer.echo(f"spec studio for {line.spec_path}: http://127.0.0.1:{port} (Ctrl-C stops it)")
        serve(line, port)
