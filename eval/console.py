"""A loud warning on stderr for an evaluation that goes on but may mislead."""

from rich.console import Console
from rich.markup import escape


def warn(message: str) -> None:
    """Print `message` (plain text, escaped) after a bold WARNING on stderr."""
    Console(stderr=True, soft_wrap=True).print(f"[bold yellow]WARNING[/] {escape(message)}",
                                               highlight=False)
