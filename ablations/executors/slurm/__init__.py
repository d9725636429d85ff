"""The Slurm executor through submitit: submit (arrays within the cluster's limits, requeue), cluster
(profiles, sbatch's time forms, limits), jobs (slurm.json, squeue, sacct), task (what a job runs)."""
