"""asynclab: the helpers the asyncio-lab notebooks import.

    import asynclab
    async with asynclab.trace() as tl:      # record every task on the running loop
        ...
    tl.plot()                               # draw what happened

tracer.py      trace(), Timeline, TaskRecord: what each task did and when
plots.py       the Gantt chart of a Timeline
explore.py     explore(): the timeline to hover, zoom and replay step by step in JupyterLab
simio.py       fetch(): simulated I/O with fixed delays, no network
playground.py  playground(): sliders that re-run a scenario and redraw it
checks/        check(): exercise checks
about.py       versions(): what the first cell of every lesson prints
predict.py     reveal(): compare a learner's prediction with what happened
trace_export.py  save_chrome_trace(): a Timeline as a file for Perfetto and vizviewer
missing_names.py  a sentence under a NameError: which cells to run first
language.py    use_language("zh-CN"): messages, hints and figure labels in Simplified Chinese
"""

from . import missing_names as _missing_names
from .about import versions
from .explore import explore
from .language import use_language
from .playground import playground
from .predict import reveal
from .simio import fetch
from .tracer import TaskRecord, Timeline, trace

_missing_names.install()          # in a notebook: a NameError says to run the cells above

__all__ = ["trace", "Timeline", "TaskRecord", "fetch", "playground", "reveal", "versions", "explore",
           "use_language"]
__version__ = "0.1.0"
