"""Training: the settings (:mod:`.config`), splits, negative sampling, the fit loop or a
model's closed-form solve (:mod:`.train`), evaluation, data-parallel runs, the job's plan and
the nightly job that trains, gates and saves a version (:mod:`.job`)."""
