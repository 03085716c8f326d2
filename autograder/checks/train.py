"""Train to a calibrated threshold: full credit at or below `pass_at`, half credit up to `partial_at`."""
from __future__ import annotations


def judge_threshold(judge, name: str, value: float, pass_at: float, partial_at: float,
                    slow_message: str, fail_message: str) -> bool:
    """Lower is better (a loss, an error). The messages may use {value}, {pass_at}."""
    if value <= pass_at:
        return judge.add(name, True)
    if value <= partial_at:
        return judge.add(name, False, slow_message.format(value=value, pass_at=pass_at), fraction=0.5)
    return judge.fail(name, fail_message.format(value=value, pass_at=pass_at))
