"""siamflow's networks, targets, losses and trackers: a pure library (torch, numpy, cv2)."""
import warnings


class ModelError(ValueError):
    """A bad variant, override, weights file or checkpoint; the message is one line naming it."""


def load_tensors(path, map_location="cpu"):
    """torch.load with weights_only=True: tensors and plain values only, so a file's pickled objects are refused
    and never run. Torch warns about a plain pickle's protocol before refusing it; the caller's one error line
    says it better."""
    import torch  # here: the stages without torch import ModelError from this module
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return torch.load(path, map_location=map_location, weights_only=True)
