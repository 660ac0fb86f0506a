"""Training: the pair dataset, schedules, the distributed set-up and the Trainer."""
