"""Predict, then see: compare what a learner guessed with what really happened.

A lesson asks its question in a plain code cell, before the demo:

    # Predict: in which order do the three requests finish?  Write it as a string, e.g. "A B C".
    my_guess = ...

and after the demo, where `order` is what really happened:

    asynclab.reveal(my_guess, order)

A plain cell survives "Run All" (the guess is still `...`: the learner skipped it, and is
told what happened) and the reading copy.  Nothing is recorded anywhere outside the notebook.
"""

from numbers import Number

from .language import tr

__all__ = ["reveal"]


def _words(value):
    """'C, b,a' and ['C', 'B', 'A'] and ('c', 'b', 'a') all read as ('C', 'B', 'A')."""
    if isinstance(value, str):
        cleaned = "".join(ch if ch.isalnum() or ch in "._-" else " " for ch in value)
        return tuple(p.upper() for p in cleaned.split())
    if isinstance(value, (list, tuple)):
        return tuple(str(v).strip().upper() for v in value)
    return (str(value).strip().upper(),)


def _shown(value):
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value)
    return str(value)


def reveal(guess, actual, *, tolerance=0.25, unit=""):
    """Say whether `guess` matches `actual`; return True, False, or None (no guess made).

    Orders and names compare without regard to case, spaces or commas.  Numbers count as
    right within `tolerance` (a fraction: 0.25 means within 25 %), because timings vary.
    """
    suffix = f" {unit}" if unit else ""
    if guess is ... or guess is None or (isinstance(guess, str) and not guess.strip()):
        print(tr("You made no prediction. What happened: {actual}.", actual=_shown(actual) + suffix))
        return None
    if isinstance(actual, Number) and not isinstance(actual, bool):
        try:
            number = float(guess)
        except (TypeError, ValueError):
            print(tr("Your prediction {guess} is not a number; what happened: {actual}.",
                     guess=repr(guess), actual=f"{actual}{suffix}"))
            return False
        right = abs(number - actual) <= tolerance * abs(actual)
    else:
        said, happened = _words(guess), _words(actual)
        if all(len(w) == 1 for w in happened):      # one-letter names: "cba" is the order C, B, A
            said = tuple("".join(said))
        right = said == happened
    if right:
        print(tr("✔ You predicted {guess}: that is what happened.", guess=_shown(guess) + suffix))
    else:
        print(tr("✘ You predicted {guess}; what happened: {actual}. Look at the output above for why.",
                 guess=_shown(guess) + suffix, actual=_shown(actual) + suffix))
    return right
