"""The copy (pointer) layer of the chatbot; importing this module registers it with Keras.

``keras.saving.load_model`` of a ``.keras`` chatbot needs ``import zoo.tasks.dialogue.pointer`` first
(``build_chatbot`` imports it); exported SavedModels need nothing from zoo.
"""

from __future__ import annotations

import keras

from zoo.textrules import UNKNOWN_ID


@keras.saving.register_keras_serializable(package="zoo")
class CopyDistribution(keras.layers.Layer):
    """Mixes generating and copying into one distribution over ``vocab + source steps``.

    Inputs: vocabulary probabilities (B, T, V), the generate gate (B, T, 1), the
    attention distribution over the source (B, T, S) and the source ids (B, S).
    Copying a known word adds to its vocabulary id; copying an unknown one (id 1)
    goes to id ``V + position``. Padding positions get nothing. Keeps the
    decoder's mask, so padded target steps stay out of the loss.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        ops = keras.ops
        vocabulary, gate, attention, source = inputs
        vocab_size = ops.shape(vocabulary)[-1]
        copied = (1.0 - gate) * ops.cast(attention, "float32")
        # expand_dims, not [:, None, :]: LiteRT has no strided slice that adds an axis.
        known = ops.expand_dims(ops.cast(source > UNKNOWN_ID, "float32"), 1)
        unknown = ops.expand_dims(ops.cast(ops.equal(source, UNKNOWN_ID), "float32"), 1)
        # Sum each row's copy mass into its word's id: segment b * V + id of (b, s).
        batch, steps, positions = ops.shape(copied)
        segments = ops.reshape(
            source + ops.cast(ops.expand_dims(ops.arange(batch), 1) * vocab_size, source.dtype),
            [-1],
        )
        mass = ops.reshape(ops.transpose(copied * known, [0, 2, 1]), [-1, steps])
        summed = ops.segment_sum(mass, segments, num_segments=batch * vocab_size)
        to_vocabulary = ops.transpose(ops.reshape(summed, [batch, vocab_size, steps]), [0, 2, 1])
        return ops.concatenate([gate * vocabulary + to_vocabulary, copied * unknown], axis=-1)

    def compute_mask(self, inputs, mask=None):
        return None if mask is None else mask[0]

    def compute_output_shape(self, input_shapes):
        vocabulary, _, attention, _ = input_shapes
        extra = attention[-1]
        width = None if vocabulary[-1] is None or extra is None else vocabulary[-1] + extra
        return (*vocabulary[:-1], width)
