"""What a run's report adds to a task's own metrics: the headline table with bootstrap intervals, honest verdicts,
the run's recipe and environment, the self-contained HTML page, the terminal table, and `compare`.

    intervals.py  95% bootstrap intervals over samples
    verdict.py    the verdict lines: against baselines (only valid numbers compared), adapter vs base
    summary.py    the headline table as data (summary.json), from an EvalResult
    runinfo.py    a run folder's recipe, environment, datasets and loss log, as settings to show and compare
    samples.py    the worst and best validation samples of the adapter, beside base and reference
    html.py       report.html: one file, images inlined, no network
    terminal.py   eval's result for the terminal: headline table, verdicts, a judge's table
    whole_tables.py  print_table: a table drawn whole on a terminal (wrapped, or one block per row), Markdown off one
    compare.py    two or more runs side by side (Markdown and HTML)
"""
