"""Coverage of each 95% interval method against n: one panel per parameter, the
nominal 0.95 marked, each method's coverage with its Monte Carlo error bars."""

from __future__ import annotations

from pathlib import Path

from runner.io import plots

METHOD_STYLES = {
    "wald": ("plain Wald", "o", "#1f77b4"),
    "wald_transformed": ("Wald on the unconstrained scale", "s", "#d62728"),
    "profile": ("profile likelihood", "^", "#2ca02c"),
    "bootstrap": ("parametric bootstrap (percentile)", "D", "#9467bd"),
}


def coverage_figure(table, path: Path, title: str) -> Path:
    """``table``: interval_coverage's rows (size, parameter, method, coverage, MCSE)."""
    names = list(dict.fromkeys(table["parameter"]))
    fig, axes = plots._panels(len(names))
    for ax, name in zip(axes, names, strict=False):
        rows = table[table["parameter"] == name]
        ax.axhline(0.95, color=plots.COLORS["reference"], linestyle=":", label="nominal 0.95")
        for method, at in rows.groupby("method", sort=False):
            label, marker, color = METHOD_STYLES.get(method, (method, "o", "0.3"))
            at = at.sort_values("size")
            ax.errorbar(at["size"], at["coverage"], yerr=2 * at["coverage_mcse"],
                        marker=marker, color=color, capsize=3, linewidth=1.2,
                        label=f"{label} ({int(at['replicates'].iloc[0]):,} reps)")  # fmt: skip
        ax.set_xscale("log")
        ax.set_xlabel("sample size n (log scale)")
        ax.set_ylabel("coverage of the truth (± 2 MCSE)")
        ax.set_title(name)
        ax.legend(fontsize="small")
    return plots._save(fig, path, title)
