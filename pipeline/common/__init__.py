"""What every part of the pipeline shares: the user-error type, atomic files, tables, one parallel map."""
