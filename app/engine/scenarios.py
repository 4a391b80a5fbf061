"""The blog's scenarios, one click each (blog §6–7; Müller et al. 2019 §2–3), with what to look for.

Each is a RunConfig change plus a few sentences, faithful to the blog and the paper without
overclaiming: label smoothing need not raise accuracy, and on clean, distinct classes plain
cross-entropy may do as well (blog §7; paper Table 1).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    config: dict[str, Any]
    look_for: str
    speed: int = 3

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "distinct", "Distinct, clean classes",
        {"dataset": "blobs", "similarity": 0.0, "label_noise": 0.0, "ordered": False, "eps": 0.1},
        "Three well-separated classes, as in the paper's Figure 1 (first row). Both runs classify "
        "everything correctly. With ε = 0.1 the logit gap stops at ln 28 ≈ 3.33 and the loss at its floor "
        "0.291, and the clusters tighten around their templates; without smoothing the gap keeps growing. "
        "On data like this plain cross-entropy may do just as well: smoothing is not needed for accuracy.",
    ),
    Scenario(
        "similar", "Semantically similar classes (the poodles)",
        {"dataset": "blobs", "similarity": 0.85, "label_noise": 0.0, "ordered": False, "eps": 0.1},
        "Classes 0 and 1 overlap, like toy and miniature poodles. Inspect a point of class 0: the one-hot run "
        "puts nearly all its wrong-class probability on class 1, the smoothed run spreads it more evenly over "
        "both wrong classes (the distillation lab measures this as the similar-class share). The paper shows "
        "such a continuum turning into an arc; on this small toy the wrong-template spread does not always fall "
        "with ε. Accuracy on the overlapping classes is limited for both runs by the overlap itself.",
    ),
    Scenario(
        "noisy", "Incorrectly labelled data (20% flipped)",
        {"dataset": "blobs", "similarity": 0.0, "label_noise": 0.2, "ordered": False, "eps": 0.2},
        "One training label in five was flipped (ringed points); the validation labels are clean, so compare "
        "the validation accuracy and the calibration. A one-hot target asks for a certain answer even on a "
        "flipped point; a smoothed one never does. At this network's size neither run fits many flipped "
        "labels; give it more units (hidden 128, penultimate 16, 300 points) and the one-hot run grows surer "
        "of the flipped labels it fits than the smoothed run does.",
    ),
    Scenario(
        "unshuffled", "Unshuffled data (class 0, then 1, then 2)",
        {"dataset": "blobs", "similarity": 0.6, "label_noise": 0.0, "ordered": True, "eps": 0.1},
        "Minibatches walk through all of class 0, then class 1, then class 2, as in the blog's forgotten "
        "shuffle. Each time a new class arrives the one-hot run has been pushed far from its template and "
        "has to move further; the smoothed run's wrong templates were never pushed to infinity. Watch the "
        "loss spikes at each switch. (And do shuffle your data.)",
    ),
    Scenario(
        "digits", "Digits: a distinct trio (0, 1, 7)",
        {"dataset": "digits", "label_noise": 0.0, "ordered": False, "eps": 0.1},
        "scikit-learn's bundled 8×8 digits, three classes that look different. Both runs separate them; "
        "the smoothed run's clusters sit on a regular triangle at a finite logit gap and it is less "
        "over-confident. Accuracy is about the same.",
    ),
    Scenario(
        "digits-similar", "Digits: a similar trio (3, 5, 8)",
        {"dataset": "digits-similar", "label_noise": 0.0, "ordered": False, "eps": 0.1},
        "3, 5 and 8 share strokes, so their activations start out close. Look at how evenly each smoothed "
        "cluster keeps its distance from the two wrong templates, and at the calibration panel: the one-hot "
        "run grows over-confident, while smoothing keeps confidence nearer accuracy.",
    ),
)
