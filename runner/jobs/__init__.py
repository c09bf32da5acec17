"""The Hydra layer: the config schema and its checks, a fit job, a study job, launching
and the sweep callback. The only room that sees a ``DictConfig``: the entry turns the
composed config into typed specs (``runner.jobs.config.to_spec``) once, and everything
below takes those."""
