"""Datasets (bundled, generated, MNIST IDX files), standardization, train/validation split, batching."""

from ..idx import read_idx
from .batching import batches, check_batch_size, epoch_batches, num_batches
from .dataset import Dataset, check_arrays
from .load import check_files, load_dataset
from .registry import DATASETS, FLOAT32_FEATURES, DatasetInfo, dataset_info, default_dtype, list_datasets
from .split import standardize, train_val_split

__all__ = [
    "DATASETS", "Dataset", "DatasetInfo", "batches", "check_batch_size", "epoch_batches",
    "list_datasets", "load_dataset", "num_batches", "read_idx", "standardize", "train_val_split",
]
