"""Trainings as planned, cached jobs: the plan (`plan`), one job (`jobs`), run locks (`locks`), executors.

``softnodule plan`` lists every training a profile's notebooks need with its cache key and state;
``softnodule train`` runs the missing ones here or on a Dask cluster (`executors`). Submodules are
imported on use (the training loops import `locks` from here).
"""
