"""Build a tiny random-weight VLM checkpoint folder, offline, in seconds.

No model can be downloaded on a CI machine, so tests and the default job use a real checkpoint
folder written here: a byte-level BPE tokenizer trained on generated text, a chat template, a
processor and random weights of a real transformers architecture. Everything downstream loads it
through `AutoModelForImageTextToText` / `AutoProcessor`, exactly like a Qwen2.5-VL folder.

Families: Qwen2-VL, Qwen2.5-VL, LLaVA (a Llama language model behind a CLIP tower), Qwen3-VL
(DeepStack: vision features added into the first language layers) and Qwen3.5 (natively multimodal;
three of every four language layers are Gated DeltaNet linear attention, the fourth gated full
attention, behind Qwen3-VL's vision tower and processor). Every family keeps the 28-pixel image token
(patch 14, merge 2), so a 56 px image is 4 tokens in all of them; a real Qwen3-VL or Qwen3.5 uses patch
16 and says so in its own preprocessor config.
"""

from __future__ import annotations

import random
from pathlib import Path

import torch

FAMILIES = ("qwen2_vl", "qwen2_5_vl", "llava", "qwen3_vl", "qwen3_5")
_PATCH, _MERGE = 14, 2

SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
    "<image>",
]

_IMAGE_MARKUP = {
    "qwen2_vl": "<|vision_start|><|image_pad|><|vision_end|>",
    "qwen2_5_vl": "<|vision_start|><|image_pad|><|vision_end|>",
    "llava": "<image>",
    "qwen3_vl": "<|vision_start|><|image_pad|><|vision_end|>",
    "qwen3_5": "<|vision_start|><|image_pad|><|vision_end|>",
}

# One ChatML template for every family; only the image markup differs.
_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}IMAGE_MARKUP"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_WORDS = """
question answer context image what which where how many is are there a an the of in on at to
and or not yes no left right above below inside outside nearest near far top bottom middle centre
center colour color shape size count number small large big medium tiny huge red green blue yellow
purple orange white black gray grey pink brown cyan circle square triangle star cross ring blob
object objects picture scene shows show contains contain one two three four five six seven eight
nine ten zero option options none both more fewer than same different bright dark lesion opacity
nodule organ lung heart effusion fracture device tube normal abnormal finding findings impression
report scan left-sided right-sided building buildings field fields water road roads river forest
tree trees residential industrial farmland harbour bridge parking aerial caption area few several
many few words reply format ask about can be answered with as
""".split()


def _corpus(seed: int = 0, lines: int = 4000) -> list[str]:
    """Generated sentences in the shapes of prompts, questions, answers and captions."""
    rng = random.Random(seed)
    numbers = [str(n) for n in range(21)]
    vocab = _WORDS + numbers
    texts = [" ".join(vocab), "Question: Answer: Context: (A) (B) (C) (D) ? . , : ; - 0123456789"]
    for _ in range(lines):
        words = [rng.choice(vocab) for _ in range(rng.randint(3, 14))]
        text = " ".join(words)
        text = rng.choice(["Question: {}?\nAnswer: {}", "{}.", "Context: {}", "{}"]).format(text, rng.choice(vocab))
        texts.append(text[0].upper() + text[1:] if rng.random() < 0.5 else text)
    return texts


def build_tokenizer(family: str = "qwen2_vl", vocab_size: int = 512):
    """Train a byte-level BPE here (any text stays encodable) and wrap it for transformers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_corpus(), trainer=trainer)
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=SPECIAL_TOKENS[1:],
        padding_side="left",
    )
    wrapped.chat_template = _CHAT_TEMPLATE.replace("IMAGE_MARKUP", _IMAGE_MARKUP[family])
    if family == "llava":
        wrapped.image_token = "<image>"
    return wrapped


def _qwen_model_and_processor(family: str, tokenizer, hidden: int, layers: int, image_size: int):
    from transformers import (
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2VLConfig,
        Qwen2VLForConditionalGeneration,
        Qwen2VLImageProcessor,
        Qwen2VLProcessor,
        Qwen2VLVideoProcessor,
    )

    heads = 4
    head_dim = hidden // heads
    ids = tokenizer.convert_tokens_to_ids
    text = dict(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=hidden * 4,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=2048,
        # mrope sections must sum to head_dim / 2; the default [16, 24, 24] fits only head_dim 128.
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0,
                         "mrope_section": _mrope_section(head_dim)},
        bos_token_id=ids("<|endoftext|>"),
        eos_token_id=ids("<|im_end|>"),
        pad_token_id=tokenizer.pad_token_id,
    )
    vision = dict(depth=2, embed_dim=hidden, hidden_size=hidden, num_heads=heads, patch_size=14,
                  spatial_merge_size=2, temporal_patch_size=2)
    if family == "qwen2_5_vl":
        vision.update(out_hidden_size=hidden, intermediate_size=hidden * 2, fullatt_block_indexes=[1],
                      window_size=56)
        vision.pop("embed_dim")
    config_cls, model_cls = {
        "qwen2_vl": (Qwen2VLConfig, Qwen2VLForConditionalGeneration),
        "qwen2_5_vl": (Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration),
    }[family]
    config = config_cls(
        text_config=text,
        vision_config=vision,
        image_token_id=ids("<|image_pad|>"),
        video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"),
        vision_end_token_id=ids("<|vision_end|>"),
        tie_word_embeddings=True,
    )
    pixels = image_size * image_size
    processor = Qwen2VLProcessor(
        image_processor=Qwen2VLImageProcessor(min_pixels=pixels, max_pixels=pixels),
        tokenizer=tokenizer,
        video_processor=Qwen2VLVideoProcessor(),
        chat_template=tokenizer.chat_template,
    )
    return model_cls(config), processor


def _mrope_section(head_dim: int) -> list[int]:
    half = head_dim // 2
    t = half // 4
    h = (half - t) // 2
    return [t, h, half - t - h]


def _interleaved_mrope_section(rotary_dim: int) -> list[int]:
    """Qwen3-VL and Qwen3.5 interleave t, h, w over the rotary frequencies: h and w each take every third
    one, so 3 * section must fit in rotary_dim / 2 (the default [24, 20, 20] fits only 128)."""
    freqs = rotary_dim // 2
    h = freqs // 3
    return [freqs - 2 * h, h, h]


def _qwen3_model_and_processor(family: str, tokenizer, hidden: int, layers: int, image_size: int):
    """Qwen3-VL or Qwen3.5: the same vision tower and processor, different language models."""
    from transformers import (
        Qwen2VLImageProcessor,
        Qwen3_5Config,
        Qwen3_5ForConditionalGeneration,
        Qwen3VLConfig,
        Qwen3VLForConditionalGeneration,
        Qwen3VLProcessor,
        Qwen3VLVideoProcessor,
    )

    heads, head_dim = 4, hidden // 4
    ids = tokenizer.convert_tokens_to_ids
    text = dict(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=hidden * 4,
                num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads // 2,
                head_dim=head_dim, max_position_embeddings=2048, bos_token_id=ids("<|endoftext|>"),
                eos_token_id=ids("<|im_end|>"), pad_token_id=tokenizer.pad_token_id)
    vision = dict(depth=2, hidden_size=hidden, intermediate_size=hidden * 2, num_heads=heads,
                  patch_size=_PATCH, spatial_merge_size=_MERGE, temporal_patch_size=2, out_hidden_size=hidden,
                  num_position_embeddings=64)
    if family == "qwen3_vl":
        rotary = {"rope_type": "default", "rope_theta": 10000.0, "mrope_interleaved": True,
                  "mrope_section": _interleaved_mrope_section(head_dim)}
        text.update(rope_parameters=rotary)
        vision.update(deepstack_visual_indexes=[1])
        config_cls, model_cls = Qwen3VLConfig, Qwen3VLForConditionalGeneration
    else:  # Qwen3.5 rotates a quarter of each head; with 4 layers, layers 0-2 are linear attention
        rotary = {"rope_type": "default", "rope_theta": 10000.0, "mrope_interleaved": True,
                  "partial_rotary_factor": 0.25, "mrope_section": _interleaved_mrope_section(head_dim // 4)}
        text.update(rope_parameters=rotary, linear_num_key_heads=2, linear_num_value_heads=4,
                    linear_key_head_dim=head_dim, linear_value_head_dim=head_dim)
        config_cls, model_cls = Qwen3_5Config, Qwen3_5ForConditionalGeneration
    config = config_cls(text_config=text, vision_config=vision, image_token_id=ids("<|image_pad|>"),
                        video_token_id=ids("<|video_pad|>"), vision_start_token_id=ids("<|vision_start|>"),
                        vision_end_token_id=ids("<|vision_end|>"), tie_word_embeddings=True)
    pixels = image_size * image_size
    processor = Qwen3VLProcessor(
        image_processor=Qwen2VLImageProcessor(min_pixels=pixels, max_pixels=pixels, patch_size=_PATCH,
                                              merge_size=_MERGE, image_mean=[0.5] * 3, image_std=[0.5] * 3),
        tokenizer=tokenizer,
        video_processor=Qwen3VLVideoProcessor(patch_size=_PATCH, merge_size=_MERGE),
        chat_template=tokenizer.chat_template,
    )
    return model_cls(config), processor


def _llava_model_and_processor(tokenizer, hidden: int, layers: int, image_size: int):
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    patch = 14
    ids = tokenizer.convert_tokens_to_ids
    text = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=hidden * 4,
        num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=4,
        max_position_embeddings=2048, bos_token_id=ids("<|endoftext|>"),
        eos_token_id=ids("<|im_end|>"), pad_token_id=tokenizer.pad_token_id,
    )
    vision = CLIPVisionConfig(hidden_size=hidden, intermediate_size=hidden * 2, num_hidden_layers=2,
                              num_attention_heads=4, image_size=image_size, patch_size=patch,
                              projection_dim=hidden)
    config = LlavaConfig(vision_config=vision, text_config=text, image_token_id=ids("<image>"),
                         vision_feature_select_strategy="full", vision_feature_layer=-1,
                         tie_word_embeddings=True)
    image_processor = CLIPImageProcessor(size={"shortest_edge": image_size},
                                         crop_size={"height": image_size, "width": image_size})
    processor = LlavaProcessor(image_processor=image_processor, tokenizer=tokenizer, patch_size=patch,
                               vision_feature_select_strategy="full", num_additional_image_tokens=1,
                               chat_template=tokenizer.chat_template)
    return LlavaForConditionalGeneration(config), processor


def build_tiny_vlm(out_dir: str | Path, family: str = "qwen2_vl", *, hidden: int = 128, layers: int = 4,
                   image_size: int = 56, seed: int = 0) -> Path:
    """Write a loadable checkpoint folder (config, safetensors weights, tokenizer, processor)."""
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    if image_size % (_PATCH * _MERGE):
        raise ValueError(f"image_size must be a multiple of {_PATCH * _MERGE} (patch {_PATCH} x merge {_MERGE}), "
                         f"got {image_size}")
    out = Path(out_dir)
    torch.manual_seed(seed)
    tokenizer = build_tokenizer(family)
    if family == "llava":
        model, processor = _llava_model_and_processor(tokenizer, hidden, layers, image_size)
    elif family.startswith("qwen3"):
        model, processor = _qwen3_model_and_processor(family, tokenizer, hidden, layers, image_size)
    else:
        model, processor = _qwen_model_and_processor(family, tokenizer, hidden, layers, image_size)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.bos_token_id = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out


def parameter_count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


