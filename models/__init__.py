"""siamflow's networks, targets, losses and trackers: a pure library (torch, numpy, cv2)."""


class ModelError(ValueError):
    """A bad variant, override, weights file or checkpoint; the message is one line naming it."""
