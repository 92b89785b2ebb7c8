"""Turning key presses into a ballot for the open round (:class:`Ballot`, one per round on a keypad).

* A yes/no/abstain motion, or an item list / rating whose ``focus`` is one
  item (the chair puts items one at a time), is voted by one press: the
  choice key gives a ballot with that one item set, on every keypad.
* With ``focus`` = all items, a keypad with a display and navigation keys
  edits a draft: ``up``/``down`` move between items, a choice key sets the
  current item (an item list then moves on to the next item; a rating item
  stays, so a second yes can raise 满意 to 优秀), ``confirm`` sends the
  draft.  A three-key keypad cannot vote such a round (WRONG_BALLOT).
* Keys to choices: yes 1, no 2, abstain 3.  For ratings the three keys map
  by ``rating_keys`` (default yes 满意, abstain 基本满意, no 不满意); on a
  draft, pressing yes on an item already 满意 makes it 优秀 when the motion
  admits it.
* A choice the motion's ``options`` mask does not admit is BAD_CHOICE.

Press-policy checks (first press) need to know what was recorded and are
made by :meth:`Keypad.press`, not by the ballot.
"""

import sys

if sys.implementation.name != "micropython":  # MicroPython's compiler folds const() itself
    const = int
TYPE_CHECKING = const(0)  # a const: MicroPython's compiler leaves the block below out
if TYPE_CHECKING:
    from protocol.frames import MotionOpen

if sys.implementation.name != "micropython":
    __all__ = ["CHOICE_KEYS", "NAV_KEYS", "Ballot"]

# protocol.consts and protocol.reasons, as const() numbers MicroPython folds into the bytecode
# (tests/firmware/app/test_consts.py checks them against both).
_ALL_ITEMS = const(0xFF)
_RATING = const(3)
_NONE = const(0)
_EXCELLENT = const(1)
_SATISFIED = const(2)
_BASIC = const(3)
_UNSATISFIED = const(4)
_WRONG_BALLOT = const(0x40)
_BAD_CHOICE = const(0x41)
_EMPTY_BALLOT = const(0x42)

CHOICE_KEYS = ("yes", "no", "abstain")  # choices 1, 2, 3 (yes/no/abstain motions)
NAV_KEYS = ("up", "down", "confirm")


class Ballot:
    """The draft ballot for one round, on one keypad (see the module docstring).  The keypad
    replaces ``motion`` with the same round's newer motion-open (a new focus or paused flag); the
    draft stays."""

    def __init__(self, motion: "MotionOpen", navigable: bool, rating_keys: "dict[str, int] | None" = None) -> None:
        self.motion = motion
        self.kind = motion.ballot_kind
        self.count = motion.item_count
        self.navigable = navigable
        self.rating_keys = rating_keys or {"yes": _SATISFIED, "abstain": _BASIC, "no": _UNSATISFIED}
        self.draft = [_NONE] * self.count
        self.cursor = 0

    @property
    def single(self) -> bool:
        """True when one press votes (one item, or the chair's focus item)."""
        return self.count == 1 or self.motion.focus != _ALL_ITEMS

    def current(self) -> int:
        """The item the keypad shows: the focus item (0 for yes/no/abstain) a single press votes
        on, or the draft's cursor."""
        if self.single:
            return 0 if self.count == 1 else self.motion.focus
        return self.cursor

    def choice_of(self, key: str, item: int) -> int:
        if self.kind != _RATING:
            return CHOICE_KEYS.index(key) + 1 if key in CHOICE_KEYS else _NONE
        choice = self.rating_keys.get(key, _NONE)
        if (
            key == "yes" and not self.single and self.draft[item] == choice
            and self.admits(_EXCELLENT)
        ):  # fmt: skip
            return _EXCELLENT
        return choice

    def admits(self, choice: int) -> bool:
        return choice != _NONE and bool(self.motion.options & (1 << choice))

    def key(self, name: str) -> "tuple[str, object] | None":
        """What a press of ``name`` means for this round (see the module docstring):
        ``("vote", choices)``, ``("nav", None)``, ``("deny", reason)`` or None (nothing)."""
        if self.single:
            if name not in CHOICE_KEYS:
                return None
            item = self.current()
            if item >= self.count:
                return ("deny", _WRONG_BALLOT)
            choice = self.choice_of(name, item)
            if not self.admits(choice):
                return ("deny", _BAD_CHOICE)
            choices = [_NONE] * self.count
            choices[item] = choice
            return ("vote", tuple(choices))
        if not self.navigable:
            return ("deny", _WRONG_BALLOT) if name in CHOICE_KEYS else None
        if name == "up":
            self.cursor = (self.cursor - 1) % self.count
            return ("nav", None)
        if name == "down":
            self.cursor = (self.cursor + 1) % self.count
            return ("nav", None)
        if name == "confirm":
            if not any(self.draft):
                return ("deny", _EMPTY_BALLOT)
            return ("vote", tuple(self.draft))
        if name in CHOICE_KEYS:
            choice = self.choice_of(name, self.cursor)
            if not self.admits(choice):
                return ("deny", _BAD_CHOICE)
            self.draft[self.cursor] = choice
            if self.kind != _RATING:  # a rating item stays: yes twice is 优秀
                self.cursor = min(self.cursor + 1, self.count - 1)
            return ("nav", None)
        return None
