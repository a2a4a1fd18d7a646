"""The game report: one static HTML page a person reads to judge a run (`selfplay report RUN_DIR`).

A self-play run is judged by what the players do: which questions the questioner asks, what the
answerer says with and without the image, what was kept to train on and why. The page shows that
per round and per item (thumbnail, text, then each question with its reference, the sighted and
blind answers, the silver label, p, the target, kept or not with the reason, every reward term),
the run's figures (selfplay/plots.py) and its config.

It is self-contained and needs no network and no JavaScript: thumbnails and plots are files beside
it (`report/thumbs/`, `report/plots/`), and the filters (kept only, asked or borrowed, question type,
rounds) are form controls that CSS `:has()` reads, so they work with scripts off. Text, ids and
config values go through `identifiers.mask_identifiers`, as the medical preset's records do, and
thumbnails are named by a hash, not the source file's name.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
import statistics
import time
from collections import defaultdict
from pathlib import Path

import yaml

from .identifiers import mask_identifiers
from .records import EVAL_FILE, GAMES_FILE, METRICS_FILE, read_jsonl, write_text_atomic

REPORT_DIR = "report"
THUMB_SIDE = 112


def _read(path: Path) -> list[dict]:
    return read_jsonl(path) if path.is_file() else []


def _text(value) -> str:
    """Masked and escaped: what may be shown of a string from the records."""
    return html.escape(mask_identifiers(str(value)))


def _slug(value) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", str(value).lower()) or "none"


def thumbnail(image_path: str, folder: Path) -> str | None:
    """A small PNG copy of an item's image in `folder`, named by a hash of its path; None if unreadable.
    Read by `images.load_image`, as the run reads it: EXIF turned, 16-bit stretched, alpha on white."""
    from PIL import ImageOps

    from .images import BadImage, load_image

    name = hashlib.sha1(image_path.encode("utf-8")).hexdigest()[:16] + ".png"
    target = folder / name
    if not target.is_file():
        try:
            image = load_image(Path(image_path), max_pixels=4 * THUMB_SIDE * THUMB_SIDE)
        except BadImage:
            return None
        small = ImageOps.contain(image, (THUMB_SIDE, THUMB_SIDE))
        folder.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{name}.tmp")
        small.save(partial, format="PNG")
        os.replace(partial, target)  # a run killed mid-write leaves no half thumbnail to be reused
    return f"thumbs/{name}"


def _answers(answers: list) -> str:
    if not answers:
        return "<span class='none'>none</span>"
    return "<ol class='answers'>" + "".join(f"<li>{_text(a)}</li>" for a in answers) + "</ol>"


def _number(value, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) else "–"


def game_row(game: dict) -> str:
    """One question of an item: a table row whose classes the filters read."""
    posed = game.get("question") is not None
    kind = "borrowed" if game.get("borrowed") else "asked"
    classes = ["game", "kept" if game.get("kept") else "dropped", kind, f"type-{_slug(game.get('answer_type'))}"]
    if posed:
        question = _text(game["question"])
    else:
        question = f"<span class='none'>did not parse:</span> <code>{_text(game.get('completion') or '')}</code>"
    terms = "".join(f"<li>{_text(k)} {_number(v)}</li>" for k, v in (game.get("terms") or {}).items())
    rewards = game.get("answer_rewards") or []
    if rewards:
        terms += f"<li>answerer mean {_number(statistics.fmean(rewards))}</li>"
    kept = "<strong class='yes'>kept</strong>" if game.get("kept") else "<span class='no'>not kept</span>"
    return (f"<tr class='{' '.join(classes)}'>"
            f"<td>{question}<div class='tags'>{_text(game.get('answer_type') or 'no type')} · {kind}</div></td>"
            f"<td>{_text(game['reference']) if game.get('reference') is not None else '–'}</td>"
            f"<td>{_answers(game.get('answers'))}</td><td>{_answers(game.get('blind_answers'))}</td>"
            f"<td>{_text(game['silver']) if game.get('silver') is not None else '–'}</td>"
            f"<td>{_number(game.get('p'), 2) if posed else '–'}</td>"
            f"<td>{_text(game['target']) if game.get('target') is not None else '–'}</td>"
            f"<td>{kept}<div class='why'>{_text(game.get('why') or '')}</div></td>"
            f"<td><ul class='terms'>{terms}</ul></td></tr>")


HEADER = ("<tr><th scope='col'>question</th><th scope='col'>reference</th><th scope='col'>answers (image)</th>"
          "<th scope='col'>answers (blind)</th><th scope='col'>silver</th><th scope='col'>p</th>"
          "<th scope='col'>target</th><th scope='col'>kept, and why</th><th scope='col'>rewards</th></tr>")


def item_block(round_number: int, games: list[dict], folder: Path) -> str:
    """One item of a round: its thumbnail and text, then the table of its questions."""
    first = games[0]
    item = _text(first.get("item_id"))
    src = thumbnail(first["image"], folder / "thumbs") if first.get("image") else None
    alt = f"image of item {item}, round {round_number}"
    picture = (f"<img src='{src}' alt='{alt}' width='{THUMB_SIDE}'>" if src
               else f"<div class='missing' role='img' aria-label='{alt}'>image not readable</div>")
    text = (f"<p class='text'>{_text(first['text'])}</p>" if first.get("text")
            else "<p class='text none'>no paired text</p>")
    classes = "item" + (" has-kept" if any(g.get("kept") for g in games) else "")
    return (f"<article class='{classes}'><div class='head'>{picture}<div><h3>item {item}</h3>{text}</div></div>"
            f"<table><thead>{HEADER}</thead><tbody>{''.join(game_row(g) for g in games)}</tbody></table>"
            "</article>")


def round_summary(metrics: dict | None, evaluation: dict | None) -> str:
    parts = []
    if metrics:
        parts += [f"kept {metrics.get('kept', 0)} ({100 * metrics.get('kept_share', 0.0):.0f}%)",
                  f"questioner reward {_number(metrics.get('questioner/reward_mean'))}",
                  f"answerer reward {_number(metrics.get('answerer/reward_mean'))}",
                  f"question diversity {_number(metrics.get('question_diversity'), 2)}",
                  f"{metrics.get('borrowed', 0)} borrowed"]
    if evaluation:
        parts.append(f"after it: accuracy {_number(evaluation['accuracy']['all'])}, blind "
                     f"{_number(evaluation['blind_accuracy']['all'])}, sight "
                     f"{_sight(evaluation)}, chance {_number(evaluation['chance']['all'])}")
    return f"<p class='summary'>{' · '.join(parts)}</p>" if parts else ""


def _sight(evaluation: dict) -> str:
    """Sight with its standard error (selfplay.evaluate.sight_error), where the run measured it."""
    se = evaluation.get("sight_se", {}).get("all")
    return _number(evaluation.get("sight", {}).get("all")) + ("" if se is None else f" &plusmn; {_number(se)}")


def evaluation_table(evals: list[dict]) -> str:
    if not evals:
        return "<p>No evaluation in this run (eval.data was empty).</p>"
    def when(e: dict) -> str:
        return "before round 1" if e["round"] < 0 else f"after round {e['round'] + 1}"

    rows = "".join(
        f"<tr><td>{when(e)}</td>"
        f"<td>{_number(e['accuracy']['all'])}</td><td>{_number(e['blind_accuracy']['all'])}</td>"
        f"<td>{_sight(e)}</td><td>{_number(e['chance']['all'])}</td>"
        f"<td>{_number(e.get('in_form', {}).get('all'), 2)}</td><td>{_number(e.get('blind_in_form', {}).get('all'), 2)}</td>"
        f"<td>{e.get('questions', '')}</td></tr>" for e in evals)
    return ("<table class='evals'><thead><tr><th scope='col'>when</th><th scope='col'>accuracy</th>"
            "<th scope='col'>blind accuracy</th><th scope='col'>sight</th><th scope='col'>chance</th>"
            "<th scope='col'>in form</th><th scope='col'>blind in form</th>"
            f"<th scope='col'>questions</th></tr></thead><tbody>{rows}</tbody></table>")


def filters(rounds: list[int], types: list[str]) -> tuple[str, str]:
    """The filter controls and the CSS rules that read them (no script)."""
    hide = "{display:none}"
    rules = ["body:has(#only-kept:checked) tr.game:not(.kept)" + hide,
             "body:has(#only-kept:checked) article.item:not(.has-kept)" + hide,
             "body:has(#src-asked:checked) tr.game.borrowed" + hide,
             "body:has(#src-borrowed:checked) tr.game:not(.borrowed)" + hide]
    rules += [f"body:has(#type-{_slug(t)}:checked) tr.game:not(.type-{_slug(t)})" + hide for t in types]
    rules += [f"body:has(#round-{r}:not(:checked)) #r{r}" + hide for r in rounds]

    def radio(name: str, value: str, label: str, checked: bool = False) -> str:
        return (f"<input type='radio' name='{name}' id='{value}'{' checked' if checked else ''}>"
                f"<label for='{value}'>{label}</label>")

    controls = (
        "<form class='filters' aria-label='filters'>"
        "<fieldset><legend>rows</legend><input type='checkbox' id='only-kept'><label for='only-kept'>kept only"
        "</label></fieldset>"
        "<fieldset><legend>questions</legend>" + radio("src", "src-all", "all", True)
        + radio("src", "src-asked", "asked") + radio("src", "src-borrowed", "borrowed") + "</fieldset>"
        "<fieldset><legend>type</legend>" + radio("type", "type-any", "all", True)
        + "".join(radio("type", f"type-{_slug(t)}", _text(t)) for t in types) + "</fieldset>"
        "<fieldset><legend>rounds</legend>"
        + "".join(f"<input type='checkbox' id='round-{r}' checked><label for='round-{r}'>{r + 1}</label>"
                  for r in rounds) + "</fieldset></form>")
    return controls, "\n".join(rules)


STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;max-width:1400px}
h1{margin-bottom:0}.meta{color:#666;margin-top:.2em}
.plots{display:flex;flex-wrap:wrap;gap:8px}.plots img{width:420px;max-width:100%;border:1px solid #ddd}
.filters{position:sticky;top:0;background:#f6f6f6;padding:.4em;border:1px solid #ddd;display:flex;flex-wrap:wrap;gap:.5em;z-index:1}
.filters fieldset{border:1px solid #ccc;padding:.1em .5em}.filters label{margin-right:.6em}
article.item{border-top:1px solid #ccc;padding:.6em 0}.head{display:flex;gap:1em;align-items:flex-start}
.head h3{margin:0}.text{max-width:70em}.none{color:#888;font-style:italic}
table{border-collapse:collapse;margin-top:.4em;width:100%}th,td{border:1px solid #ddd;padding:3px 5px;vertical-align:top;text-align:left}
th{background:#f0f0f0}tr.kept{background:#eefbea}.tags,.why{color:#666;font-size:12px}
ol.answers,ul.terms{margin:0;padding-left:1.3em}ul.terms{list-style:none;padding:0;font-size:12px}
.yes{color:#17702b}.no{color:#9a1c1c}.missing{width:112px;height:112px;background:#eee;color:#666}
pre{background:#f6f6f6;padding:.6em;overflow:auto}
"""


def _masked_config(config: object) -> object:
    if isinstance(config, dict):
        return {k: _masked_config(v) for k, v in config.items()}
    if isinstance(config, list):
        return [_masked_config(v) for v in config]
    return mask_identifiers(config) if isinstance(config, str) else config


def render(run_dir: Path, out: Path, games: list[dict], metrics: list[dict], evals: list[dict],
           config: dict, plots: list[str]) -> str:
    """The page's HTML; writes the thumbnails it links into `out`."""
    from .plots import PLOTS

    by_round: dict[int, dict[str, list[dict]]] = defaultdict(dict)
    for game in games:
        by_round[game["round"]].setdefault(str(game.get("item_id")), []).append(game)
    metrics_by_round = {row["round"]: row for row in metrics}
    evals_by_round = {row["round"]: row for row in evals}
    types = sorted({str(g.get("answer_type")) for g in games if g.get("answer_type")})
    controls, rules = filters(sorted(by_round), types)
    sections = []
    for r in sorted(by_round):
        items = "".join(item_block(r + 1, rows, out) for rows in by_round[r].values())
        kept = sum(g.get("kept", False) for rows in by_round[r].values() for g in rows)
        sections.append(f"<section id='r{r}' class='round'><h2>Round {r + 1}</h2>"
                        f"{round_summary(metrics_by_round.get(r), evals_by_round.get(r))}"
                        f"<p class='meta'>{len(by_round[r])} items, {sum(map(len, by_round[r].values()))} questions, "
                        f"{kept} kept</p>{items}</section>")
    figures = "".join(f"<img src='plots/{name}' alt='{html.escape(PLOTS[name])}'>" for name in plots)
    name = _text(run_dir.resolve().name)
    config_text = html.escape(yaml.safe_dump(_masked_config(config), sort_keys=False)) if config else "(no config.yaml)"
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>selfplay report: {name}</title><style>{STYLE}\n{rules}</style></head><body>"
            f"<h1>selfplay report: {name}</h1><p class='meta'>{len(by_round)} rounds, {len(games)} questions; "
            f"written {time.strftime('%Y-%m-%d %H:%M')}. Text is shown with identifiers masked (not "
            "de-identification).</p>"
            f"<h2>Evaluation</h2>{evaluation_table(evals)}<h2>Figures</h2><div class='plots'>{figures}</div>"
            f"<h2>Games</h2>{controls}{''.join(sections) or '<p>No games yet.</p>'}"
            f"<h2>Config</h2><details><summary>the resolved config.yaml</summary><pre>{config_text}</pre></details>"
            "</body></html>\n")


def write_report(run_dir: str | Path, out_dir: str | Path | None = None) -> Path:
    """Read a run folder's records and write `out_dir` (default RUN_DIR/report): index.html, thumbs/, plots/."""
    from .plots import write_plots

    run_dir = Path(run_dir)
    if not (run_dir / GAMES_FILE).is_file() and not (run_dir / METRICS_FILE).is_file():
        raise FileNotFoundError(f"{run_dir}: no {GAMES_FILE} or {METRICS_FILE}; is it a run's output_dir?")
    out = Path(out_dir) if out_dir else run_dir / REPORT_DIR
    out.mkdir(parents=True, exist_ok=True)
    games, metrics, evals = _read(run_dir / GAMES_FILE), _read(run_dir / METRICS_FILE), _read(run_dir / EVAL_FILE)
    config_path = run_dir / "config.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
    keep_band = (config.get("rewards") or {}).get("keep_band", [0.3, 0.8])
    plots = write_plots(out / "plots", metrics, evals, games, keep_band)
    page = out / "index.html"
    write_text_atomic(page, render(run_dir, out, games, metrics, evals, config, plots))
    return page
