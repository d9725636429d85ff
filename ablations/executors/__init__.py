"""Where runs train: here (local, with progress and guard), or on Slurm (slurm/); both link
TensorBoard's readable names (tensorboard)."""
