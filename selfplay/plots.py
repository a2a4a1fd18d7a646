"""The game report's figures, drawn with matplotlib from the run's records and written as SVG.

Each function takes plain rows (metrics.jsonl, eval.jsonl, games.jsonl) and writes one file. What
they show is what a person judges a self-play run by: whether the answerer's accuracy rises above
its blind accuracy and chance (sight), whether the rewards still spread (GRPO learns only from
spread), how much the filter keeps, whether the questioner keeps asking different questions, and
where the answerers' agreement p falls against the keep band.
"""

from __future__ import annotations

from pathlib import Path

# (file name, alt text): the report shows them in this order.
PLOTS = {
    "accuracy.svg": "Answerer accuracy, blind accuracy and chance on the held-out questions, per round",
    "rewards.svg": "Mean reward of the questioner and the answerer per round, with one standard deviation",
    "kept.svg": "Share of the posed questions kept to train the answerer, per round",
    "diversity.svg": "Question diversity per round: distinct questions over questions asked",
    "p_histogram.svg": "Histogram of p, the answers' majority share, over all posed questions, with the keep band",
}


def _figure():
    import matplotlib

    matplotlib.use("Agg")  # files only: no display, no GUI toolkit
    import matplotlib.pyplot as plt

    from matplotlib.ticker import MaxNLocator

    figure, axes = plt.subplots(figsize=(5.2, 3.0), dpi=100, layout="constrained")
    axes.grid(alpha=0.3)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # rounds are whole; p's axis sets its own
    return plt, figure, axes


def _save(plt, figure, path: Path) -> None:
    figure.savefig(path, format="svg", metadata={"Date": None})  # no timestamp: the same run, the same file
    plt.close(figure)


def accuracy_plot(evals: list[dict], path: Path) -> None:
    plt, figure, axes = _figure()
    rounds = [row["round"] + 1 for row in evals]  # 0: before self-play
    for key, label, style in (("accuracy", "accuracy", "o-"), ("blind_accuracy", "blind accuracy", "s--"),
                              ("chance", "chance", ":")):
        axes.plot(rounds, [row[key]["all"] for row in evals], style, label=label)
    axes.set(xlabel="rounds played", ylabel="share correct", ylim=(0, 1))
    axes.legend(loc="best", fontsize="small")
    _save(plt, figure, path)


def rewards_plot(metrics: list[dict], path: Path) -> None:
    plt, figure, axes = _figure()
    rounds = [row["round"] + 1 for row in metrics]
    for role in ("questioner", "answerer"):
        means = [row.get(f"{role}/reward_mean", 0.0) for row in metrics]
        spreads = [row.get(f"{role}/reward_std", 0.0) for row in metrics]
        axes.plot(rounds, means, "o-", label=role)
        axes.fill_between(rounds, [m - s for m, s in zip(means, spreads)], [m + s for m, s in zip(means, spreads)],
                          alpha=0.2)
    axes.set(xlabel="round", ylabel="reward (mean ± std)")
    axes.legend(loc="best", fontsize="small")
    _save(plt, figure, path)


def share_plot(metrics: list[dict], key: str, ylabel: str, path: Path) -> None:
    plt, figure, axes = _figure()
    axes.plot([row["round"] + 1 for row in metrics], [row.get(key, 0.0) for row in metrics], "o-")
    axes.set(xlabel="round", ylabel=ylabel, ylim=(0, 1.05))
    _save(plt, figure, path)


def p_histogram_plot(games: list[dict], keep_band: list[float], path: Path) -> None:
    from matplotlib.ticker import MaxNLocator

    plt, figure, axes = _figure()
    p_values = [game["p"] for game in games if game.get("question") is not None]
    axes.xaxis.set_major_locator(MaxNLocator(nbins=6))
    axes.hist(p_values, bins=[i / 10 for i in range(11)], color="tab:blue", edgecolor="white")
    axes.axvspan(*keep_band, color="tab:green", alpha=0.12, label=f"keep band {keep_band[0]}-{keep_band[1]}")
    axes.set(xlabel="p (majority share of the sighted answers)", ylabel="questions", xlim=(0, 1))
    axes.legend(loc="best", fontsize="small")
    _save(plt, figure, path)


def write_plots(folder: Path, metrics: list[dict], evals: list[dict], games: list[dict],
                keep_band: list[float]) -> list[str]:
    """Every figure the records allow, into `folder`; returns the file names written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    if evals:
        accuracy_plot(evals, folder / "accuracy.svg")
        written.append("accuracy.svg")
    if metrics:
        rewards_plot(metrics, folder / "rewards.svg")
        share_plot(metrics, "kept_share", "kept share", folder / "kept.svg")
        share_plot(metrics, "question_diversity", "question diversity", folder / "diversity.svg")
        written += ["rewards.svg", "kept.svg", "diversity.svg"]
    if games:
        p_histogram_plot(games, keep_band, folder / "p_histogram.svg")
        written.append("p_histogram.svg")
    return written
