"""Runs protocol/vectors.json against the codec.  MicroPython-compatible.

The same file runs under CPython (pytest imports it) and inside the real
MicroPython interpreter (the harness runs its text), so both interpreters
must agree byte for byte.  ``check`` returns ``(checked, failures)``.
"""

from protocol import codec, reasons, topics
from protocol.errors import DecodeError, EncodeError


def _unhex(s):
    return bytes(int(s[i : i + 2], 16) for i in range(0, len(s), 2))


def _hex(b):
    return "".join("%02x" % x for x in b)


def check(vectors, sign_with_nonce=None):
    """Check every vector; ``sign_with_nonce(secret, msg, k_bytes)`` re-creates signatures if given."""
    failures = []
    checked = 0
    secret = _unhex(vectors["test_key"]["secret"])
    for case in vectors["valid"]:
        checked += 1
        name = case["name"]
        data = _unhex(case["hex"])
        try:
            frame = codec.from_json(case["frame"])
            if codec.encode(frame) != data:
                failures.append("%s: encode gives %s" % (name, _hex(codec.encode(frame))))
            if codec.decode(data) != frame:
                failures.append("%s: decode gives %r" % (name, codec.decode(data)))
            if "nonce" in case:
                region = codec.signed_region(frame)
                if region != data[:-64]:
                    failures.append("%s: signed region differs" % name)
                if sign_with_nonce is not None:
                    sig = sign_with_nonce(secret, region, _unhex(case["nonce"]))
                    if sig != data[-64:]:
                        failures.append("%s: signature %s differs" % (name, _hex(sig)))
        except Exception as exc:
            failures.append("%s: raised %r" % (name, exc))
    for case in vectors["invalid"]:
        checked += 1
        name = case["name"]
        try:
            codec.decode(_unhex(case["hex"]))
            failures.append("%s: decoded, expected %s" % (name, case["reason"]))
        except DecodeError as exc:
            if reasons.name(exc.reason) != case["reason"]:
                failures.append(
                    "%s: reason %s, expected %s" % (name, reasons.name(exc.reason), case["reason"])
                )
        except Exception as exc:
            failures.append("%s: raised %r instead of DecodeError" % (name, exc))
    for case in vectors["encode_invalid"]:
        checked += 1
        name = case["name"]
        try:
            codec.encode(codec.from_json(case["frame"]))
            failures.append("%s: encoded, expected %s" % (name, case["reason"]))
        except EncodeError as exc:
            if reasons.name(exc.reason) != case["reason"]:
                failures.append(
                    "%s: reason %s, expected %s" % (name, reasons.name(exc.reason), case["reason"])
                )
        except Exception as exc:
            failures.append("%s: raised %r instead of EncodeError" % (name, exc))
    for case in vectors["topics"]:
        checked += 1
        try:
            if case["device"]:
                made = topics.device(case["hall"], case["device"], case["channel"])
            else:
                made = topics.broadcast(case["hall"], case["channel"])
            if made != case["topic"]:
                failures.append("topic %s: made %s" % (case["topic"], made))
            if list(topics.parse(case["topic"])) != [case["hall"], case["device"], case["channel"]]:
                failures.append("topic %s: parse differs" % case["topic"])
        except Exception as exc:
            failures.append("topic %s: raised %r" % (case["topic"], exc))
    for case in vectors["invalid_topics"]:
        checked += 1
        try:
            topics.parse(case["topic"])
            failures.append("topic %s: parsed, expected %s" % (case["topic"], case["reason"]))
        except DecodeError as exc:
            if reasons.name(exc.reason) != case["reason"]:
                failures.append("topic %s: reason %s" % (case["topic"], reasons.name(exc.reason)))
    for scenario in vectors["gateway"]["scenarios"]:
        for step in scenario["steps"]:
            if "reply" not in step:
                continue
            checked += 1
            name = scenario["name"]
            try:
                reply = codec.from_json(step["reply"])
                if codec.decode(_unhex(step["reply_hex"])) != reply:
                    failures.append("%s: reply %s does not decode as given" % (name, step["reply_hex"]))
                if "frame" in step and codec.encode(codec.from_json(step["frame"])) != _unhex(step["hex"]):
                    failures.append("%s: frame %s does not encode as given" % (name, step["hex"]))
            except Exception as exc:
                failures.append("%s: raised %r" % (name, exc))
    return checked, failures
