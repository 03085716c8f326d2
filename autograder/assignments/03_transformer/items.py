"""The graded items of 03_transformer: points per sub-check, probe and judge, record, refused built-ins.

This list is the only place the assignment's points live; a test proves the notebook's nbgrader points
equal them. Total: 35 points.
"""
import importlib.util

from autograder.item import Item
from autograder.records import ARRAY, INT, SHAPE, SHAPES, STR, STRS

A = "03_transformer"
L = "keras.layers."
# what the student writes in this assignment; keras_hub's layers (not installed by the kit) where importable
HUB = (("keras_hub.layers.TransformerEncoder", "keras_hub.layers.TransformerDecoder",
        "keras_hub.layers.SinePositionEncoding", "keras_hub.layers.PositionEmbedding",
        "keras_hub.layers.TokenAndPositionEmbedding", "keras_hub.layers.CachedMultiHeadAttention")
       if importlib.util.find_spec("keras_hub") is not None else ())
REFUSED = (L + "MultiHeadAttention", L + "Attention", L + "AdditiveAttention", L + "GroupQueryAttention",
           "keras.ops.dot_product_attention") + HUB
LAYER_ALLOWS = (L + "Embedding", L + "Dense", L + "Dropout", L + "LayerNormalization")

FIT = {"train/names": STRS, "train/before/*": ARRAY, "train/after/*": ARRAY}
CONFIG = {"config/original": ARRAY, "config/out": ARRAY}
SYMBOLIC = {"symbolic/shapes": SHAPES, "symbolic/run": SHAPES}

ITEMS = [
    Item(A, "positional_encoding", "Positional encoding and PositionalEmbedding",
         checks=(("table", 1.0), ("odd depth", 0.25), ("embedding", 0.75), ("mask", 0.5), ("unknown length", 0.25),
                 ("serialization", 0.25)),
         needs=("positional_encoding", "PositionalEmbedding"), probe_fn="positional_encoding",
         judge_fn="positional_encoding",
         record={"table/*": ARRAY, "embedding": ARRAY, "mask": ARRAY, **SYMBOLIC, **CONFIG},
         refuses=REFUSED, allows=(L + "Embedding",), timeout_s=90),
    Item(A, "masks", "Padding and look-ahead masks",
         checks=(("padding mask", 0.75), ("look-ahead mask", 0.75), ("shapes", 0.5)),
         needs=("padding_mask", "look_ahead_mask"), probe_fn="masks", judge_fn="masks",
         record={"padding": ARRAY, "padding/shape": SHAPE, "padding/dtype": STR, "look_ahead/*/shape": SHAPE,
                 "look_ahead/*/dtype": STR, "look_ahead/*": ARRAY},
         timeout_s=60),
    Item(A, "attention", "Scaled dot-product attention",
         checks=(("outputs", 1.0), ("weights", 0.5), ("masked weights", 0.75), ("broadcast", 0.25), ("float16", 0.5)),
         needs=("scaled_dot_product_attention",), probe_fn="attention", judge_fn="attention",
         record={"*/n": INT, "*/0": ARRAY, "*/1": ARRAY}, refuses=REFUSED, timeout_s=60),
    Item(A, "mha", "Multi-head attention",
         checks=(("layout", 0.5), ("self-attention", 1.25), ("cross-attention", 1.0), ("mask", 0.75),
                 ("weights returned", 0.5), ("all heads at once", 0.25), ("serialization", 0.25), ("trainable", 0.5)),
         needs=("MultiHeadAttention",), probe_fn="mha", judge_fn="mha",
         record={"layout/*": SHAPE, "self": ARRAY, "cross": ARRAY, "*/n": INT, "*/0": ARRAY, "*/1": ARRAY,
                 "heads/*": INT, **CONFIG, **FIT},
         refuses=REFUSED, allows=("the grader's scaled_dot_product_attention",), timeout_s=90),
    Item(A, "feed_forward", "Position-wise feed-forward network",
         checks=(("numerics", 0.75), ("dropout", 0.25), ("serialization", 0.25), ("trainable", 0.25)),
         needs=("FeedForward",), probe_fn="feed_forward", judge_fn="feed_forward",
         record={"out": ARRAY, "dropout/*": ARRAY, **CONFIG, **FIT},
         refuses=REFUSED, allows=(L + "Dense", L + "Dropout"), timeout_s=60),
    Item(A, "encoder_layer", "Encoder layer (post-norm)",
         checks=(("numerics", 1.5), ("padding", 0.75), ("dropout", 0.25), ("serialization", 0.5), ("trainable", 0.5)),
         needs=("EncoderLayer",), probe_fn="encoder_layer", judge_fn="encoder_layer",
         record={"out": ARRAY, "padding/*": ARRAY, "dropout/*": ARRAY, **CONFIG, **FIT},
         refuses=REFUSED, allows=LAYER_ALLOWS + ("the grader's MultiHeadAttention and FeedForward",), timeout_s=90),
    Item(A, "decoder_layer", "Decoder layer (masked self-attention, cross-attention)",
         checks=(("numerics", 1.5), ("causal", 0.75), ("cross-attention", 0.75), ("padding", 0.25),
                 ("serialization", 0.25), ("trainable", 0.5)),
         needs=("DecoderLayer",), probe_fn="decoder_layer", judge_fn="decoder_layer",
         record={"out/n": INT, "out/*": ARRAY, "causal/*": ARRAY, "padding/*": ARRAY, **CONFIG, **FIT},
         refuses=REFUSED, allows=LAYER_ALLOWS + ("the grader's MultiHeadAttention and FeedForward",), timeout_s=90),
    Item(A, "transformer", "The Transformer (encoder, decoder, masks, logits)",
         checks=(("numerics", 1.5), ("causal", 0.5), ("padding", 0.5), ("attention weights", 0.5), ("symbolic", 0.5),
                 ("serialization", 0.5), ("trainable", 0.5), ("mixed precision", 0.5)),
         needs=("Transformer",), probe_fn="transformer", judge_fn="transformer",
         record={"out": ARRAY, "weights/n": INT, "weights/*": ARRAY, "causal/*": ARRAY, "padding/*": ARRAY,
                 "roundtrip/*": ARRAY, "mixed/*": ARRAY, **SYMBOLIC, **FIT},
         refuses=REFUSED, allows=LAYER_ALLOWS + ("the grader's layers and masks",), timeout_s=150, memory_mb=3072),
    Item(A, "loss", "Masked loss and accuracy",
         checks=(("loss", 0.75), ("accuracy", 0.75), ("edge cases", 0.5)),
         needs=("masked_loss", "masked_accuracy"), probe_fn="loss", judge_fn="loss",
         record={"masked_loss/*": ARRAY, "masked_accuracy/*": ARRAY},
         refuses=("keras.losses.SparseCategoricalCrossentropy",),
         allows=("keras.ops.sparse_categorical_crossentropy",), timeout_s=60),
    Item(A, "schedule", "Warm-up learning-rate schedule",
         checks=(("values", 0.75), ("peak", 0.25), ("optimizer", 0.25), ("serialization", 0.25)),
         needs=("WarmupSchedule",), probe_fn="schedule", judge_fn="schedule",
         record={"values/*": ARRAY, "peak": ARRAY, "optimizer": ARRAY, "config/*": ARRAY}, timeout_s=60),
    Item(A, "jax_backend", "The same code on the JAX backend",
         checks=(("functions", 0.5), ("layers", 0.5), ("training step", 0.5)),
         needs=("Transformer",), probe_fn="portability", judge_fn="portability",
         record={"backend": STR, "positional_encoding/*": ARRAY, "masks/*": ARRAY, "attention/n": INT,
                 "attention/*": ARRAY, "loss/*": ARRAY, "schedule": ARRAY, "MultiHeadAttention/n": INT,
                 "MultiHeadAttention/*": ARRAY, "FeedForward": ARRAY, "EncoderLayer": ARRAY, "DecoderLayer/n": INT,
                 "DecoderLayer/*": ARRAY, "Transformer/n": INT, "Transformer/*": ARRAY, "train/paths": STRS, **FIT},
         backends=("jax",), timeout_s=150, memory_mb=3072),  # built-ins are refused in the items above
    Item(A, "transformer_training", "Training the Transformer",
         checks=(("model", 0.5), ("learns", 2.5)),
         needs=("Transformer",), probe_fn="transformer_training", judge_fn="transformer_training",
         record={"model/out": SHAPE, "train/pred": ARRAY}, refuses=REFUSED, trains=True, timeout_s=240, memory_mb=3072),
]
