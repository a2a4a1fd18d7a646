"""benchmarks/sampled_sight.py: whether a supervised run's sampled answers follow the label."""

import doctest

import benchmarks.sampled_sight as sampled_sight
from benchmarks.sampled_sight import dependence_by_round


def test_the_formula_examples_hold():
    assert doctest.testmod(sampled_sight).failed == 0


def _row(round_index, label, answers, covered=(), backed_by="truth", answer_type="number"):
    return {"round": round_index, "reference": label, "answers": list(answers), "covered": list(covered),
            "backed_by": backed_by, "answer_type": answer_type}


def test_only_sampled_answers_to_ground_truth_count():
    rows = [
        _row(0, "2", ["2", "2."]), _row(0, "1", ["1", "One"]),  # follows the label: 1 - (0.5 * 0.5 * 2)
        _row(1, "2", ["1", "1", "2"], covered=["2"]), _row(1, "1", ["1", "1"]),  # "1" to all; "2" was written
        _row(0, "yes", ["no"], backed_by="stated", answer_type="yes_no"),  # a text's reference: not read
    ]
    assert dependence_by_round(rows) == {"number": {0: 0.5, 1: 0.0}}
