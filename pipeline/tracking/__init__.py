"""MLflow for the stages (the only package that imports mlflow): lineage, run logs, the outbox, sync.

lineage: where the store is and the tags every run gets; store: the MLflow client, search, dvc.lock tags;
outbox: the journal of runs whose store could not be reached, and `sync`; runlog: RunLog, log_stage and
start_sweep; context: the RunContext a stage command hands to its runs."""
from pipeline.tracking.context import RunContext
from pipeline.tracking.lineage import OFF, git_state, lineage_tags, params_hash, pipeline_id, project_root, tracking_uri
from pipeline.tracking.outbox import outbox_folder, sync
from pipeline.tracking.runlog import LOCAL, RunLog, log_stage, start_sweep
from pipeline.tracking.store import search, tag_lock_entries

__all__ = ["LOCAL", "OFF", "RunContext", "RunLog", "git_state", "lineage_tags", "log_stage", "outbox_folder",
           "params_hash", "pipeline_id", "project_root", "search", "start_sweep", "sync", "tag_lock_entries",
           "tracking_uri"]
