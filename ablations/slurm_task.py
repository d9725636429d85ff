"""Where queued Slurm jobs submitted before the executors moved find their task: submitit pickled
``ablations.slurm_task.TrainJob``; the class now lives in ``ablations.executors.slurm.task``."""

from ablations.executors.slurm.task import TrainJob

__all__ = ["TrainJob"]
