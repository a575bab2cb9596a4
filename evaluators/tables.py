"""Markdown tables for reports."""


def markdown_table(header: list[str], rows: list[list]) -> str:
    def line(cells: list) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", "<br>") for c in cells) + " |"

    return "\n".join([line(header), line(["---"] * len(header)), *map(line, rows)])
