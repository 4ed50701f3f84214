"""Trainings as planned, cached jobs: the plan (`plan`), one job (`jobs`), run locks (`locks`), executors.

``softnodule plan`` lists every training a profile's notebooks need with its cache key and state;
``softnodule train`` runs the missing ones here or on a Dask cluster (`executors`), including the steps
that wait for a decision on validation (local: in rounds; Dask: as soon as the runs they read are done).
`record` scores a job on test, finished or not; `lease` uses a GPU lent for minutes (step timing, training
to a deadline, records). Submodules are imported on use (the training loops import `locks` from here).
"""
