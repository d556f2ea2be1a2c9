"""asynclab.reveal: a learner's prediction compared with what happened, in one sentence."""

import asynclab


def test_no_guess_is_told_what_happened(capsys):
    assert asynclab.reveal(..., "C B A") is None
    assert capsys.readouterr().out == "You made no prediction. What happened: C B A.\n"


def test_orders_compare_without_case_spaces_or_commas(capsys):
    assert asynclab.reveal("cba", "C B A") is True
    assert asynclab.reveal("C, B, A", ["C", "B", "A"]) is True
    assert asynclab.reveal("A B C", "C B A") is False
    assert "what happened: C B A" in capsys.readouterr().out


def test_numbers_within_tolerance(capsys):
    assert asynclab.reveal(100, 110, unit="ms") is True
    assert asynclab.reveal(300, 110, unit="ms") is False
    assert asynclab.reveal("lots", 3) is False
    assert "not a number" in capsys.readouterr().out
