"""The event kind registry: exact fields per kind, typed refusals, the secret-ballot invariants."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.audit.errors import AuditSchemaError, SchemaCode
from gateway.audit.kinds import (
    BOOL,
    CHOICES,
    KINDS,
    MAX_PAYLOAD,
    Field,
    Kind,
    check_actor,
    check_registry,
    kind,
    validate,
)

FP = "0123456789abcdef" * 4

#: One valid payload per kind; the test below insists every kind has one.
EXAMPLES: dict[str, dict[str, Any]] = {
    "sitting.opened": {"sitting": 1, "body": "市人大", "title": "第一次全体会议"},
    "sitting.checkin_opened": {"sitting": 1},
    "sitting.checkin_closed": {"sitting": 1},
    "sitting.closed": {"sitting": 1},
    "checkin.recorded": {"sitting": 1, "member": 7, "seat": "B-12", "device": "kp-0042", "late": False},
    "round.opened": {
        "sitting": 1,
        "motion": "m-3",
        "round": 2,
        "secret": True,
        "quorum_expected": 300,
        "quorum_present": 201,
        "override": False,
    },
    "round.paused": {"motion": "m-3", "round": 2, "reason": "网络故障"},
    "round.rerun": {"motion": "m-3", "round": 3, "reason": "表决器故障，重新表决"},
    "console.signed_in": {"role": "chair"},
    "console.signed_out": {"role": "chair"},
    "console.signin_refused": {"name": "主任"},
    "console.signin_throttled": {"address": "192.0.2.7", "refused": 5},
    "round.resumed": {"motion": "m-3", "round": 2},
    "round.closed": {"motion": "m-3", "round": 2},
    "round.announced": {"motion": "m-3", "round": 2},
    "secret.purged": {"motion": "m-3", "round": 2},
    "result.frozen": {
        "motion": "m-3",
        "round": 2,
        "rule": "全体代表过半数",
        "totals": {"yes": 180, "no": 10, "abstain": 5, "not_pressed": 6},
        "outcome": "passed",
        "ballot_kind": 1,
        "expected": 210,
        "present": 201,
        "voted": 195,
        "item_outcomes": {"1": 1},
    },
    "manual.entered": {
        "motion": 3,
        "round": 1,
        "method": "show_of_hands",
        "reason": "表决器故障",
        "totals": {"1:yes": 150, "1:no": 40, "1:abstain": 5, "not_pressed": 6},
        "expected": 210,
        "present": 201,
        "entered_by": "秘书长",
        "entered_role": "clerk",
    },
    "manual.rejected": {
        "motion": 3,
        "round": 1,
        "entered_by": "秘书长",
        "rejected_by": "主任",
        "reason": "数错",
    },
    "manual.confirmed": {
        "motion": 3,
        "round": 1,
        "method": "paper",
        "reason": "表决器故障",
        "totals": {"1:yes": 150, "1:no": 40, "1:abstain": 5, "not_pressed": 6},
        "entered_by": "秘书长",
        "confirmed_by": "主任",
    },
    "override.quorum": {
        "motion": "m-3",
        "round": 2,
        "chair": "user:chair",
        "reason": "recount",
        "quorum_expected": 300,
        "quorum_present": 190,
    },
    "device.registered": {"device": "kp-0042", "seat": None, "member": None, "key_fingerprint": FP},
    "device.bound": {"device": "kp-0042", "seat": "B-12", "member": 7, "key_fingerprint": FP},
    "device.unbound": {"device": "kp-0042", "seat": "B-12", "member": None, "key_fingerprint": FP},
    "device.revoked": {
        "device": "kp-0042",
        "seat": "B-12",
        "member": 7,
        "key_fingerprint": FP,
        "reason": "lost",
    },
    "device.swapped": {
        "seat": "B-12",
        "member": 7,
        "from": "kp-0042",
        "to": "kp-0099",
        "from_key_fingerprint": FP,
        "to_key_fingerprint": "fedcba9876543210" * 4,
    },
    "vote.recorded_named": {"motion": "m-4", "round": 1, "member": 7, "seat": "B-12", "choices": [1]},
    "vote.participation_secret": {"motion": "m-3", "round": 2, "member": 7},
    "api.call": {"method": "POST", "path": "/rounds/{round_id}/close", "role": "chair", "status": 200},
    "config.loaded": {"source": "/etc/hallvote/hall.toml", "digest": "ab" * 32},
    "hall.registered": {"hall": "county-hall", "name": "县人大常委会会议厅"},
}

#: The kinds the issue names: all must be registered.
ISSUE_KINDS = {
    "sitting.opened",
    "sitting.checkin_opened",
    "sitting.closed",
    "checkin.recorded",
    "round.opened",
    "round.paused",
    "round.closed",
    "round.announced",
    "result.frozen",
    "override.quorum",
    "device.registered",
    "device.bound",
    "device.unbound",
    "device.revoked",
    "device.swapped",
    "vote.recorded_named",
    "vote.participation_secret",
    "api.call",
    "config.loaded",
}


def test_every_kind_has_an_example_and_the_issue_kinds_are_registered() -> None:
    assert set(EXAMPLES) == set(KINDS)
    assert set(KINDS) >= ISSUE_KINDS


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_examples_validate_to_their_canonical_data(name: str) -> None:
    assert validate(name, "user:x", EXAMPLES[name]) == EXAMPLES[name]


@pytest.mark.parametrize(("name", "field"), [(n, f) for n in sorted(KINDS) for f in sorted(KINDS[n].fields)])
def test_every_field_is_required(name: str, field: str) -> None:
    payload = dict(EXAMPLES[name])
    del payload[field]
    with pytest.raises(AuditSchemaError) as err:
        validate(name, "user:x", payload)
    assert err.value.code is SchemaCode.MISSING_FIELD and field in err.value.detail
    assert err.value.kind == name


@pytest.mark.parametrize("name", sorted(KINDS))
@pytest.mark.parametrize("extra", ["choice", "note", "seat_choice"])
def test_unknown_fields_are_refused(name: str, extra: str) -> None:
    with pytest.raises(AuditSchemaError) as err:
        validate(name, "user:x", {**EXAMPLES[name], extra: 1})
    assert err.value.code is SchemaCode.UNKNOWN_FIELD and extra in err.value.detail


@pytest.mark.parametrize("name", ["vote.secret", "VOTE.RECORDED_NAMED", "", None, 3])
def test_unknown_kinds_are_refused(name: Any) -> None:
    with pytest.raises(AuditSchemaError) as err:
        validate(name, "user:x", {})
    assert err.value.code is SchemaCode.UNKNOWN_KIND
    with pytest.raises(AuditSchemaError):
        kind(name)


@pytest.mark.parametrize(
    ("name", "field", "value"),
    [
        ("round.opened", "quorum_present", -1),
        ("round.opened", "quorum_present", True),  # a bool is not a count
        ("round.opened", "quorum_present", 2.0),
        ("round.opened", "secret", 1),  # an int is not a bool
        ("round.opened", "secret", None),
        ("checkin.recorded", "member", ""),
        ("checkin.recorded", "seat", "A\n1"),
        ("checkin.recorded", "device", ["kp"]),
        ("vote.recorded_named", "choices", []),
        ("vote.recorded_named", "choices", [256]),
        ("vote.recorded_named", "choices", ["yes"]),
        ("result.frozen", "totals", {}),
        ("result.frozen", "totals", {"yes": -1}),
        ("result.frozen", "totals", {"yes": 1.5}),
        ("api.call", "path", "/rounds/7/close?choice=1"),
        ("api.call", "path", "rounds"),
        ("api.call", "method", "get"),
        ("api.call", "status", 99),
        ("device.registered", "key_fingerprint", "XYZ"),
        ("sitting.opened", "title", "x" * 3000),
    ],
)
def test_bad_values_are_refused(name: str, field: str, value: Any) -> None:
    with pytest.raises(AuditSchemaError) as err:
        validate(name, "user:x", {**EXAMPLES[name], field: value})
    assert err.value.code is SchemaCode.BAD_VALUE and field in err.value.detail


@pytest.mark.parametrize("actor", ["", "a\nb", None, 7, "x" * 201])
def test_bad_actors_are_refused(actor: Any) -> None:
    with pytest.raises(AuditSchemaError) as err:
        validate("sitting.closed", actor, {"sitting": 1})
    assert err.value.code is SchemaCode.BAD_ACTOR
    with pytest.raises(AuditSchemaError):
        check_actor(actor)


def test_payload_must_be_a_mapping_and_not_too_big() -> None:
    with pytest.raises(AuditSchemaError) as err:
        validate("sitting.closed", "a", [("sitting", 1)])
    assert err.value.code is SchemaCode.BAD_VALUE
    big = {**EXAMPLES["sitting.opened"], "title": "议" * 2000}  # 6000 bytes: under the text limit
    validate("sitting.opened", "a", big)
    huge = {**EXAMPLES["result.frozen"], "totals": {f"candidate-{i:05d}": i for i in range(1500)}}
    with pytest.raises(AuditSchemaError) as err:
        validate("result.frozen", "a", huge)
    assert err.value.code is SchemaCode.BAD_VALUE and str(MAX_PAYLOAD) in err.value.detail


# ----------------------------------------------------------------------------- secret-ballot invariants


def test_secret_participation_carries_only_who_took_part() -> None:
    assert set(KINDS["vote.participation_secret"].fields) == {"motion", "round", "member"}
    assert not any(f.choice for f in KINDS["vote.participation_secret"].fields.values())


def test_only_named_only_kinds_carry_a_choice() -> None:
    carriers = {n for n, k in KINDS.items() if any(f.choice for f in k.fields.values())}
    assert carriers == {n for n, k in KINDS.items() if k.named_only} == {"vote.recorded_named"}


def test_no_kind_links_a_seat_or_device_to_anything_chosen() -> None:
    # Identity fields and choice fields meet only in the named-vote kind.
    for name, k in KINDS.items():
        identity = {f for f, spec in k.fields.items() if spec.identity}
        if name != "vote.recorded_named":
            assert not any(spec.choice for spec in k.fields.values()), name
        assert "choice" not in identity and "choices" not in identity


def test_check_registry_refuses_a_choice_outside_named_kinds() -> None:
    leaky = Kind(
        "vote.participation_secret", "x", {"member": Field(BOOL), "choices": Field(CHOICES, choice=True)}
    )
    with pytest.raises(AssertionError, match="not named_only"):
        check_registry({**KINDS, leaky.name: leaky})


def test_check_registry_refuses_an_undeclared_choice_like_field() -> None:
    sneaky = Kind("vote.participation_secret", "x", {"member": Field(BOOL), "vote": Field(BOOL)})
    with pytest.raises(AssertionError, match="sounds like a choice"):
        check_registry({**KINDS, sneaky.name: sneaky})


def test_check_registry_needs_the_round_for_named_kinds() -> None:
    k = Kind("vote.other", "x", {"choices": Field(CHOICES, choice=True)}, named_only=True)
    with pytest.raises(AssertionError, match="motion and round"):
        check_registry({**KINDS, k.name: k})


def test_kinds_are_read_only() -> None:
    with pytest.raises(TypeError):
        KINDS["x.y"] = KINDS["sitting.closed"]  # type: ignore[index]
    with pytest.raises(TypeError):
        KINDS["sitting.closed"].fields["extra"] = Field(BOOL)  # type: ignore[index]


def test_validated_text_is_the_canonical_json_the_record_is_sealed_with() -> None:
    from datetime import UTC, datetime

    from gateway.audit.chain import GENESIS, canonical_json, seal
    from gateway.audit.kinds import validated

    payload = {"motion": 7, "round": 1, "member": 3, "seat": "A-01", "choices": [1]}
    data, text = validated("vote.recorded_named", "keypads", payload)
    assert text == canonical_json(payload) and data == validate("vote.recorded_named", "keypads", payload)
    at = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
    assert seal(GENESIS, at, "vote.recorded_named", "keypads", data, text=text) == seal(
        GENESIS, at, "vote.recorded_named", "keypads", payload
    )
