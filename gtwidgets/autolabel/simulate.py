"""Run the automated-labeling loop to the end against an answer key: a simulated human.

For benchmarks, tests and teaching notebooks; a real job drives the same engine with people.
The simulation stands in for the job: it holds the labels, the engine holds none.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from .engine import AutoLabeler, label_counters

__all__ = ["Simulation", "simulate"]


@dataclass
class Simulation:
    """Labels at the end and one row per round (what Ground Truth's counters showed, and the truth)."""

    human: dict[str, str]
    machine: dict[str, tuple[str, float]]
    rounds: pd.DataFrame
    stop: str | None
    answer_key: Mapping[str, str]

    @property
    def accuracy(self) -> float:
        """Share of all labeled objects (human and machine) whose label matches the answer key."""
        right = sum(self.answer_key[o] == lbl for o, lbl in self.human.items())
        right += sum(self.answer_key[o] == lbl for o, (lbl, _) in self.machine.items())
        return right / max(len(self.human) + len(self.machine), 1)

    @property
    def machine_accuracy(self) -> float:
        """Share of machine labels that match the answer key (NaN without machine labels)."""
        if not self.machine:
            return float("nan")
        return sum(self.answer_key[o] == lbl for o, (lbl, _) in self.machine.items()) / len(self.machine)


def simulate(engine: AutoLabeler, answer_key: Mapping[str, str], *, max_rounds: int = 1000) -> Simulation:
    """Label ``engine``'s objects with ``answer_key`` as the people, round after round, until it stops."""
    human: dict[str, str] = {}
    machine: dict[str, tuple[str, float]] = {}
    rows = []
    batch = engine.first_batch()
    stop = None
    total = len(engine.object_ids)
    for _ in range(max_rounds):
        human.update((o, answer_key[o]) for o in batch)
        result = engine.run_round(human, machine)
        machine.update(result.machine_labels)
        new = result.machine_labels
        t = result.threshold
        rows.append({"round": result.number, "human batch": len(batch), **label_counters(total, len(human), len(machine)),
                     "threshold": t.value, "validation": t.validation_size, "support": t.support,
                     "validation accuracy": t.accuracy, "interval low": t.interval[0], "interval high": t.interval[1],
                     "new machine labels": len(new),
                     "true accuracy of new": (sum(answer_key[o] == lbl for o, (lbl, _) in new.items()) / len(new)
                                              if new else float("nan")),
                     "seconds": result.seconds})
        stop, batch = result.stop, result.to_humans
        if stop is not None or not batch:
            break
    return Simulation(human, machine, pd.DataFrame(rows), stop, answer_key)
