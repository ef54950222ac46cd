"""Training on several machines: TensorFlow's ``MultiWorkerMirroredStrategy`` from ``TF_CONFIG``.

Every worker runs the same ``zoo train`` command. Each reads its shard of the data (tf.data
shards by element, so the workers see different examples) and takes an equal part of
the global ``--batch-size``; gradients are summed over all workers each step, so the weights
stay identical everywhere. The chief (``"chief"``, or ``"worker"`` 0 where the cluster
has no chief) writes the run directory, the backups and the export; the other workers
write theirs to temporary directories that are removed afterwards, as Keras's
multi-worker guide has it, and read the chief's backup on ``--resume``. Decisions that
depend on a worker's own clock (the time budget, a cosine schedule over minutes) take the
slowest worker's, so every worker stops after the same epoch.

Keras 3.15's ``fit`` does not run under this strategy as released (keras-team/keras#20585):
it averages the first distributed batch to build the model, and averages scalar logs along
an axis they do not have. ``patch_keras`` replaces those two steps, for this process only,
when the strategy is created.
"""

from __future__ import annotations

import functools


def is_multiworker(strategy) -> bool:
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def is_chief(strategy) -> bool:
    """Whether this process writes the run's files: always, unless it is a non-chief worker."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if not is_multiworker(strategy) or resolver is None or resolver.task_type is None:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def worker_name(strategy) -> str:
    resolver = strategy.cluster_resolver
    return f"{resolver.task_type}-{resolver.task_id}"


def agree(model, value: float) -> float:
    """The largest of every worker's ``value`` (a collective call: every worker makes it)."""
    import tensorflow as tf

    strategy = getattr(model, "distribute_strategy", None)
    if strategy is None or not is_multiworker(strategy):
        return value
    local = strategy.run(lambda: tf.constant([value], tf.float64))
    return float(tf.reduce_max(strategy.gather(local, axis=0)))


@functools.cache
def patch_keras() -> None:
    """Let ``Model.fit`` run under ``MultiWorkerMirroredStrategy`` (keras-team/keras#20585)."""
    import tensorflow as tf
    from keras.src.backend.tensorflow import trainer

    def build_from_local_batch(self, iterator=None, data_batch=None):
        # Shapes and dtypes are all the build needs: one batch of this worker's own data,
        # where Keras would average a distributed batch across workers (and fails).
        if self._distribute_strategy is None:
            return
        if iterator is not None:
            data_batch = next(iter(iterator.data_adapter.get_tf_dataset().take(1)))
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    reduce_per_replica = trainer.reduce_per_replica

    def reduce_scalars_whole(values, strategy, reduction):
        # Keras averages each worker's logs along axis 0; the logs are scalars.
        if trainer._collective_all_reduce_multi_worker(strategy) and reduction in ("auto", "mean"):
            return tf.nest.map_structure(
                lambda v: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None), values
            )
        return reduce_per_replica(values, strategy, reduction)

    trainer.TensorFlowTrainer._maybe_symbolic_build = build_from_local_batch
    trainer.reduce_per_replica = reduce_scalars_whole
