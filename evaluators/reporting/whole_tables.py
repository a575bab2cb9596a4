"""Tables printed whole: `print_table` is how a command shows a table (the headline, a judge's, compare's).

A number is never cut. On a terminal the table is drawn (rich) with cells wrapping at spaces; on one narrower than
the table's longest words, each row becomes a block of `column  value` lines. Off a terminal (a pipe, a file, a
CI log) it is plain Markdown, as in report.md, whatever the width.
"""

from rich.console import Console
from rich.table import Table
from rich.text import Text

from evaluators.tables import markdown_table


def console() -> Console:
    return Console(highlight=False)


def longest_word(texts: list) -> int:
    return max((len(word) for text in texts for word in str(text).split()), default=0)


def column_minimums(header: list[str], rows: list[list]) -> list[int]:
    return [longest_word([name, *(row[i] for row in rows)]) for i, name in enumerate(header)]


def column_naturals(header: list[str], rows: list[list]) -> list[int]:
    return [max(len(str(text)) for text in (name, *(row[i] for row in rows))) for i, name in enumerate(header)]


def borders(columns: int) -> int:
    """What the drawn table adds to its cells: a space either side of each, a line between and around them."""
    return 3 * columns + 1


def narrowest(header: list[str], rows: list[list]) -> int:
    """The drawn table's width with every cell wrapped at spaces, each column as wide as its longest word."""
    return sum(column_minimums(header, rows)) + borders(len(header))


def column_widths(header: list[str], rows: list[list], width: int) -> list[int]:
    """Widths that fit `width` (at least `narrowest`): each column's longest word, then the room left given to the
    value columns, left to right, to hold their cells on one line, and last to the labels. rich's own shrinking is
    not used: it can leave a table wider than the terminal, whose right edge is then cut."""
    widths, naturals = column_minimums(header, rows), column_naturals(header, rows)
    spare = width - narrowest(header, rows)
    for i in [*range(1, len(header)), 0]:
        grown = min(naturals[i] - widths[i], spare)
        widths[i] += grown
        spare -= grown
    return widths


def drawn_table(header: list[str], rows: list[list], widths: list[int], title: str = "", styles: list[str] | None = None) -> Table:
    table = Table(title=title or None)
    for i, (name, width) in enumerate(zip(header, widths)):
        table.add_column(Text(str(name)), justify="left" if i == 0 else "right", overflow="fold", width=width)
    for row, style in zip(rows, styles or [""] * len(rows)):
        table.add_row(*(Text(str(value)) for value in row), style=style or None)
    return table


def print_vertical(out: Console, header: list[str], rows: list[list], title: str = "", styles: list[str] | None = None) -> None:
    """One block per row: its first cell, then `column  value` per other column, each value on one line."""
    if title:
        out.print(Text(title, style="bold"), soft_wrap=True)
    width = max((len(str(name)) for name in header[1:]), default=0)
    for row, style in zip(rows, styles or [""] * len(rows)):
        out.print(Text(str(row[0]), style=style or ""), soft_wrap=True)
        for name, value in zip(header[1:], row[1:]):
            out.print(Text(f"  {name!s:<{width}}  {value}"), soft_wrap=True)


def print_table(out: Console, header: list[str], rows: list[list], title: str = "", styles: list[str] | None = None) -> None:
    """Print a table whole: drawn when it fits, in blocks when the terminal is too narrow, Markdown off a terminal.
    `styles` (rich style names, one per row) apply on a terminal only."""
    if not out.is_terminal:
        if title:
            out.print(Text(title), soft_wrap=True)
        out.print(Text(markdown_table(header, rows)), soft_wrap=True)
        return
    if narrowest(header, rows) <= out.width:
        out.print(drawn_table(header, rows, column_widths(header, rows, out.width), title, styles))
    else:  # any narrower and words would be cut
        print_vertical(out, header, rows, title, styles)
