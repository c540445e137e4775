"""The spec studio's web page (Gradio, bound to 127.0.0.1, no telemetry, no share link): edit a
line's defects.yaml with its problems shown as you type, preview it on the line's clean parts,
generate a few samples with its trained generator, save. The work is in flows.studio_actions."""

from __future__ import annotations

from typing import Any

from conditioning.errors import DefectforgeError
from flows import studio_actions as actions
from pipeline.paths import runs_root

VALID = "No problems: the spec is valid."


def build_app(line: actions.Line) -> Any:
    """The Gradio Blocks of the studio for one product line."""
    import gradio as gr

    text = line.spec_path.read_text(encoding="utf-8")
    with gr.Blocks(title=f"defectforge spec studio: {line.name}", analytics_enabled=False) as app:
        gr.Markdown(f"## Spec studio: `{line.name}`\nEditing `{line.spec_path}` (classes: "
                    f"{', '.join(line.class_names)}). Problems show as you type, in the same "
                    "`file:line:column: field: message` form as `defectforge spec check`.")
        with gr.Row():
            with gr.Column(scale=1):
                problems = gr.Textbox(_problems_text(line, text), label="Problems", lines=3,
                                      interactive=False, elem_id="spec-problems")
                with gr.Row():
                    save_button = gr.Button("Save", variant="primary", elem_id="save", scale=1)
                    saved = gr.Markdown(elem_id="save-status")
                editor = gr.Code(text, language="yaml", label="defects.yaml", lines=30,
                                 max_lines=30, elem_id="spec-editor")
            with gr.Column(scale=1):
                with gr.Row():
                    seed = gr.Number(0, precision=0, label="seed", elem_id="seed")
                    count = gr.Slider(1, 6, actions.PREVIEW_IMAGES, step=1,
                                      label="clean images", elem_id="count")
                preview_button = gr.Button("Preview", elem_id="preview-button")
                sheet = gr.Image(label="placed masks | edge map | class map", type="numpy",
                                 interactive=False, elem_id="preview")
                placement = gr.Markdown(elem_id="preview-notes")
                generate_button = gr.Button(f"Generate {actions.SAMPLES} samples (saved spec)",
                                            elem_id="generate")
                generated_note = gr.Markdown(_generator_note(line), elem_id="generate-status")
                gallery = gr.Gallery(label="generated samples", columns=4, elem_id="samples")

        def on_edit(current: str, seed_value: float, images: float):
            library, found = actions.check_text(line, current)
            if library is None:
                return "\n".join(found), gr.update(), gr.update()
            return _valid_text(library), *_preview(library, seed_value, images)

        def on_preview(current: str, seed_value: float, images: float):
            library, found = actions.check_text(line, current)
            if library is None:
                return gr.update(), "Fix the problems first:\n\n" + "\n".join(found)
            return _preview(library, seed_value, images)

        def _preview(library, seed_value: float, images: float):
            try:
                image, notes = actions.preview(line, library, int(seed_value or 0), int(images))
            except DefectforgeError as error:
                return gr.update(), str(error)
            return image, "\n".join(f"- {note}" for note in notes)

        def on_save(current: str):
            try:
                return actions.save(line, current)
            except DefectforgeError as error:
                return str(error).replace("\n", "  \n")

        def on_generate(seed_value: float):
            try:
                images, note = actions.generate(line, int(seed_value or 0))
            except DefectforgeError as error:
                return gr.update(), str(error)
            return [str(path) for path in images], note

        editor.change(on_edit, [editor, seed, count], [problems, sheet, placement])
        for trigger in (preview_button.click, seed.change, count.change):
            trigger(on_preview, [editor, seed, count], [sheet, placement])
        save_button.click(on_save, [editor], [saved])
        generate_button.click(on_generate, [seed], [gallery, generated_note])
        app.load(on_preview, [editor, seed, count], [sheet, placement])
    return app


def _problems_text(line: actions.Line, text: str) -> str:
    library, found = actions.check_text(line, text)
    return _valid_text(library) if library is not None else "\n".join(found)


def _valid_text(library) -> str:
    """`VALID`, then the spec's notes on params without effect."""
    return "\n".join([VALID, *(f"note: {note}" for note in library.notes)])


def _generator_note(line: actions.Line) -> str:
    model = actions.trained_generator(line)
    return (f"Generator: `{model}`" if model else actions.no_generator_message(line))


def serve(line: actions.Line, port: int, *, block: bool = True) -> Any:
    """Start the studio on http://127.0.0.1:PORT (never shared, no telemetry)."""
    app = build_app(line)
    app.queue(default_concurrency_limit=1)
    app.launch(server_name="127.0.0.1", server_port=port, share=False, inbrowser=False,
               prevent_thread_lock=not block, quiet=True, footer_links=[],
               allowed_paths=[str(runs_root() / "studio")])
    return app
