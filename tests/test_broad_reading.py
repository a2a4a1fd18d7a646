"""Broad reading rows (benchmarks/broad_reading.py): text-only questioner rows in a broad vocabulary
that holds none of the target domains' nouns."""

import random
import re

from selfplay.broad_reading import NOUNS, reading_rows
from rewards.grounding import grounded_in
from roles.formats import ANSWER_TYPES
from roles.questioner import parse_candidate
from selfplay.scene import SHAPES
from selfplay.warmstart import WORLD_QUESTION_WORDS


def _completion(row: dict) -> str:
    return row["completion"][0]["content"]


def test_reading_rows_are_text_only_questioner_rows_in_a_broad_vocabulary_without_the_targets_nouns():
    rows = reading_rows(n=60, seed=0)
    assert rows and rows == reading_rows(n=60, seed=0)
    words = set(re.findall(r"[a-z]+", " ".join(row["prompt"][0]["content"] + _completion(row) for row in rows).lower()))
    targets = {word for domain in ("scan", "aerial") for shape in SHAPES[domain] for word in (shape, shape + "s")}
    assert not words & targets  # the targets' nouns are first met on the targets
    assert not words & {"circle", "square", "triangle", "circles", "squares", "triangles"}  # every shape renamed
    assert len(words & set(NOUNS)) >= 50  # a broad vocabulary, not a few words
    for row in rows:
        assert "Ask one question" in row["prompt"][0]["content"]  # no answerer row: no answer about an image
        assert row["image"].getextrema() == ((128, 128),) * 3  # blank grey: no image is read
        candidate = parse_candidate(_completion(row), ANSWER_TYPES)
        assert candidate is not None and grounded_in(candidate.question, row["prompt"][0]["content"], WORLD_QUESTION_WORDS)


def test_answering_rows_ask_any_noun_in_the_worlds_forms_and_ask_colours_only_where_drawn():
    from selfplay.broad_reading import BASIC_COLOURS, answering_rows
    from roles.answerer import parse_answer
    from selfplay.images import BLANK_GREY

    rows = answering_rows(n=80, seed=0)
    assert rows and [r["completion"] for r in rows] == [r["completion"] for r in answering_rows(n=80, seed=0)]
    targets = {word for domain in ("scan", "aerial") for shape in SHAPES[domain] for word in (shape, shape + "s")}
    pages = {"blank": 0, "grey": 0, "colour": 0}
    tones = set()  # the light and dark words offered together
    for row in rows:
        question, answer = row["prompt"][-1]["content"].splitlines()[0], parse_answer(_completion(row))
        words = set(re.findall(r"[a-z]+", f"{question} {answer}".lower()))
        assert answer and not words & targets and not words & {"circle", "square", "triangle"}
        counts = {rgb: n for n, rgb in row["image"].getcolors(56 * 56)}
        if answer in BASIC_COLOURS:  # a colour is asked only where it is drawn, as its word says
            assert counts.get(BASIC_COLOURS[answer], 0) >= 20, question
        if " or " in question and question.startswith("Is the"):  # "A or B?": one of the words offered
            assert answer in re.findall(r"[a-z]+", question)
            offered = frozenset(re.findall(r"[a-z]+", question)) & {"light", "bright", "dark", "dim"}
            if len(offered) == 2:
                tones.add(offered)
        grey = all(r == g == b for r, g, b in counts)
        pages["blank" if list(counts) == [BLANK_GREY] else "grey" if grey and len(counts) > 20 else "colour"] += 1
        if list(counts) == [BLANK_GREY]:
            assert not words & set(BASIC_COLOURS), question
    assert all(pages.values()), pages  # the styles vary, a blank page among them
    # each light word with each dark word: fixed pairs taught "bright or dark?" -> "dim" (stop 48)
    assert tones == {frozenset((light, dark)) for light in ("light", "bright") for dark in ("dark", "dim")}, tones


def test_copy_rows_name_a_new_made_up_word_in_every_scene_and_ask_about_it():
    from selfplay.broad_reading import copy_rows

    rows = copy_rows(n=60, seed=0)
    assert rows and [r["completion"] for r in rows] == [r["completion"] for r in copy_rows(n=60, seed=0)]
    nouns = set()
    for row in rows:
        context = row["prompt"][0]["content"]
        candidate = parse_candidate(_completion(row), ANSWER_TYPES)
        assert candidate is not None and grounded_in(candidate.question, context, WORLD_QUESTION_WORDS)
        assert row["image"].getextrema() == ((128, 128),) * 3
        nouns |= set(re.findall(r"[a-z]+", candidate.question)) - WORLD_QUESTION_WORDS
    assert len(nouns) > 40 and len(nouns & set(NOUNS)) < len(nouns) / 20  # made up, a new one nearly every time


def test_copy_rows_take_their_made_up_words_from_the_word_function_given():
    from selfplay.broad_reading import copy_rows, made_up_word
    from benchmarks.copy_stage import piece_word

    rows = copy_rows(n=30, seed=0, word=lambda rng: "zq" + made_up_word(rng))
    nouns = {w for row in rows for w in re.findall(r"[a-z]+", parse_candidate(_completion(row), ANSWER_TYPES).question.lower())
             if w not in WORLD_QUESTION_WORDS}
    assert nouns and all(noun.startswith("zq") for noun in nouns)
    word = piece_word(["ab", "cde", "f"])
    words = [word(random.Random(i)) for i in range(50)]
    assert all(3 <= len(w) <= 10 and re.fullmatch(r"(ab|cde|f)+", w) for w in words) and len(set(words)) > 10


def test_framed_copy_rows_put_the_same_facts_in_made_up_frames_and_name_only_absent_kinds_as_absent():
    from selfplay.broad_reading import copy_rows, facts_of, made_up_frame, made_up_word
    from selfplay.scene import caption, make_scene

    framed = copy_rows(n=80, seed=0, frames=True, word=lambda rng: "zq" + made_up_word(rng))
    contexts = {row["prompt"][0]["content"].splitlines()[0] for row in framed}
    for row in framed:  # every question still copies its words from its own context
        candidate = parse_candidate(_completion(row), ANSWER_TYPES)
        assert grounded_in(candidate.question, row["prompt"][0]["content"], WORLD_QUESTION_WORDS)
    made_up_heads = [c for c in contexts if any(w.lower().startswith("zq") for w in c.split()[1:3])]
    assert len(made_up_heads) > len(contexts) / 2  # most frames are made up, as new as the objects
    assert any(" No zq" in c for c in contexts)
    reframe = made_up_frame(lambda rng: "zqhead")
    places = 0
    for i in range(40):  # each fact kept word for word, places made up, only kinds the scene lacks said absent
        scene = make_scene(random.Random(i), "source")
        text = caption(scene, random.Random(i))
        new = reframe(text, scene, random.Random(i))
        for fact in re.split(r", | and ", facts_of(text)):
            assert fact.lower() in new.lower()
        found = re.findall(r"(?:in|on|at|along) the (\w+) (\w+)", new)
        assert set(found) <= {("zqhead", "zqhead")}
        places += len(found)
        shapes = {o.shape for o in scene.objects}
        assert not {w[:-1] for w in re.findall(r"No (\w+)\.", new)} & shapes
    assert places > 5


def test_looks_rows_bind_each_noun_to_one_look_so_their_answers_are_read_from_the_image():
    from roles.answerer import parse_answer
    from selfplay.broad_looks import FORMS, LOOK_NOUNS, SIZES, looks_questions, looks_rows
    from selfplay.broad_reading import plural

    targets = {word for domain in ("scan", "aerial") for shape in SHAPES[domain] for word in (shape, shape + "s")}
    assert not set(LOOK_NOUNS) & (targets | set(NOUNS)) and len(set(LOOK_NOUNS.values())) == 6  # 3 forms, 2 sizes
    # a hand-made scene: two small circles and a large triangle; every answer is read off these counts
    counts = {(f, s): 0 for f in FORMS for s in SIZES} | {("circle", "small"): 2, ("triangle", "large"): 1}
    rng = random.Random(0)
    asked = [pair for _ in range(200) for pair in looks_questions(counts, rng, per_scene=3)]
    for question, answer in asked:
        named = [look for noun, look in LOOK_NOUNS.items() if re.search(rf"\b({noun}|{plural(noun)})\b", question)]
        if question.startswith("Is there"):
            assert answer == ("yes" if counts[named[0]] else "no"), question
        elif question.startswith("How many"):
            assert answer == str(counts[named[0]]), question
        else:  # "Are there more As than Bs?", A and B in the question's order
            first, second = sorted(named, key=lambda look: min(
                question.find(f" {n}") for n, lk in LOOK_NOUNS.items() if lk == look and f" {n}" in question))
            assert answer == ("yes" if counts[first] > counts[second] else "no"), question
    by_form = {form: [a for q, a in asked if q.startswith(form)] for form in ("Is there", "How many", "Are there")}
    for form in ("Is there", "Are there"):  # neither answer is had without looking
        assert 0.35 < by_form[form].count("yes") / len(by_form[form]) < 0.65, form

    rows = looks_rows(n=300, seed=0)
    assert [r["completion"] for r in rows] == [r["completion"] for r in looks_rows(n=300, seed=0)]
    answers: dict[str, set] = {}
    for row in rows:
        answers.setdefault(row["prompt"][-1]["content"].splitlines()[0], set()).add(parse_answer(_completion(row)))
    exists = {q: a for q, a in answers.items() if q.startswith("Is there")}
    assert len(exists) == len(LOOK_NOUNS)  # every noun is asked about
    assert all(a == {"yes", "no"} for a in exists.values())  # and its noun alone never tells the answer
