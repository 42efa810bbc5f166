"""Data: the one crop convention (crop) and the dataset readers (readers)."""
