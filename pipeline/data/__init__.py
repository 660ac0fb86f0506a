"""Training data: source adapters, the dataset index, curation into LMDB shards, pair sampling, augmentation."""
