"""Are the differences between models significant?  Friedman test and Nemenyi post-hoc test with a
critical-difference (CD) diagram (Demšar, JMLR 2006), via scipy and scikit-posthocs.

Blocks are datasets (or the entities of one dataset), treatments are model variants, the value is a
metric's mean over seeds.  Treatments missing from a block are left out (and named), since the test
needs complete blocks.  Ranks: 1 = best (highest metric).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

MIN_BLOCKS, MIN_TREATMENTS = 2, 3


@dataclass
class FriedmanResult:
    title: str
    blocks: int = 0
    treatments: int = 0
    statistic: float = float("nan")
    pvalue: float = float("nan")
    mean_ranks: pd.Series = field(default_factory=pd.Series)
    nemenyi: pd.DataFrame = field(default_factory=pd.DataFrame)  # pairwise p-values
    left_out: list[str] = field(default_factory=list)
    reason: str = ""  # why no test was run

    @property
    def ran(self) -> bool:
        return not self.reason

    def sentence(self) -> str:
        if not self.ran:
            return f"{self.title}: no test ({self.reason})."
        best = self.mean_ranks.idxmin()
        why = "; left out (no value, or a degenerate threshold, in a block): "
        dropped = why + ", ".join(self.left_out) if self.left_out else ""
        verdict = "differ significantly" if self.pvalue < 0.05 else "do not differ significantly"
        return (
            f"{self.title}: Friedman chi2 = {self.statistic:.2f}, p = {self.pvalue:.3g} over {self.blocks} blocks "
            f"and {self.treatments} models: the models {verdict} at alpha 0.05; best mean rank: {best} "
            f"({self.mean_ranks.min():.2f}){dropped}."
        )


def friedman(values: pd.DataFrame, title: str) -> FriedmanResult:
    """``values``: blocks x treatments (higher = better)."""
    import scikit_posthocs
    from scipy.stats import friedmanchisquare

    complete = values.dropna(axis=1, how="any")
    result = FriedmanResult(title, left_out=sorted(set(values.columns) - set(complete.columns)))
    result.blocks, result.treatments = complete.shape
    if result.blocks < MIN_BLOCKS or result.treatments < MIN_TREATMENTS:
        result.reason = (
            f"it needs >= {MIN_BLOCKS} blocks and >= {MIN_TREATMENTS} models with a value in every block; "
            f"there are {result.blocks} block(s) and {result.treatments} model(s)"
        )
        return result
    test = friedmanchisquare(*complete.T.to_numpy())
    result.statistic, result.pvalue = float(test.statistic), float(test.pvalue)
    result.mean_ranks = complete.rank(axis=1, ascending=False).mean()
    nemenyi = scikit_posthocs.posthoc_nemenyi_friedman(complete.to_numpy())
    nemenyi.index = nemenyi.columns = complete.columns
    result.nemenyi = nemenyi
    return result


def cd_diagram(result: FriedmanResult, ax) -> None:
    """The critical-difference diagram on ``ax``: mean ranks on an axis, models joined by a bar where the
    Nemenyi test finds no significant difference (p >= 0.05)."""
    import scikit_posthocs

    # mean ranks printed exactly (the default 2 significant digits shows 17.5 as 18)
    scikit_posthocs.critical_difference_diagram(
        result.mean_ranks,
        result.nemenyi,
        ax=ax,
        label_fmt_left="{label} ({rank:.2f})",
        label_fmt_right="({rank:.2f}) {label}",
    )
    ax.set_title(f"{result.title} (Friedman p = {result.pvalue:.3g}; rank 1 = best)", fontsize=10)


def block_values(agg: pd.DataFrame, metric: str, protocol: str, by: str) -> pd.DataFrame:
    """Blocks x model variants of a metric's mean over seeds: ``by="dataset"`` (all entities together) or
    ``by="entity"`` (the entities of whatever datasets ``agg`` holds)."""
    rows = agg[(agg.metric == metric) & (agg.protocol == protocol)]
    rows = rows[rows.entity == "all"] if by == "dataset" else rows[rows.entity != "all"]
    # a degenerate label-free threshold's value is that of flagging everything (or nothing), not the model's:
    # left out, so the model is left out of the test (FriedmanResult.left_out names it)
    rows = rows.assign(mean=rows["mean"].where(rows.get("flag", pd.Series("", index=rows.index)).fillna("") == ""))
    name = [m if v == "default" else f"{m}/{v}" for m, v in zip(rows.model, rows.variant, strict=True)]
    return rows.assign(name=name).pivot_table(index=by, columns="name", values="mean", aggfunc="first", dropna=False)
