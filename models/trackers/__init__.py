"""Trackers: `init(image, box)` then `update(image) -> Prediction`, one class per post-processing (see base.py)."""
