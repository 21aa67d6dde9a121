"""One plotly look for the project's figures, readable in JupyterLab's light and dark themes.

``THEME`` is a plotly template: transparent backgrounds (the notebook's own shows through),
mid-grey text and faint grey grid lines, which read on white and on near-black alike, and
plotly's default colours. Use it as ``fig.update_layout(template=THEME)``.
"""
from __future__ import annotations

import plotly.graph_objects as go

__all__ = ["THEME", "SEQUENTIAL"]

_GREY = "#8a8a8a"
_GRID = "rgba(138,138,138,0.3)"
SEQUENTIAL = "Viridis"  # dark to bright on either background, and colour-blind safe

_axis = {"gridcolor": _GRID, "linecolor": _GRID, "zerolinecolor": _GRID, "tickcolor": _GRID,
         "title": {"font": {"color": _GREY}}}

THEME = go.layout.Template(layout={
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "rgba(0,0,0,0)",
    "font": {"color": _GREY},
    "title": {"font": {"color": _GREY}},
    "xaxis": _axis,
    "yaxis": _axis,
    "colorway": ["#636efa", "#ef553b", "#00cc96", "#ab63fa", "#ffa15a", "#19d3f3", "#ff6692", "#b6e880"],
    "colorscale": {"sequential": SEQUENTIAL},
})
