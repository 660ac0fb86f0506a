"""The identity tracker: the first box, forever. It tests the evaluation harness without a network."""
from __future__ import annotations

import numpy as np

from models.trackers.base import Prediction, Tracker


class IdentityTracker(Tracker):
    def update(self, image: np.ndarray) -> Prediction:
        return Prediction(self.box(), 1.0)
