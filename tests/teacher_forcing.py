"""The learner's view of a sampled completion, for checking what an engine recorded against it."""

import torch

from selfplay.engine import render_prompt


def teacher_forced(model, processor, prompt, completion_ids, temperature, suppressed):
    """log p(token | prefix) of each completion token under the PEFT model, as the learner computes it."""
    text = render_prompt(prompt.messages, prompt.image, processor)
    inputs = processor(text=[text], images=[prompt.image] if prompt.image else None, return_tensors="pt")
    n = len(completion_ids)
    inputs["input_ids"] = torch.cat([inputs["input_ids"], torch.tensor([completion_ids])], 1)
    inputs["attention_mask"] = torch.ones_like(inputs["input_ids"])
    if "mm_token_type_ids" in inputs:
        inputs["mm_token_type_ids"] = torch.cat([inputs["mm_token_type_ids"],
                                                 torch.zeros(1, n, dtype=inputs["mm_token_type_ids"].dtype)], 1)
    with torch.no_grad():
        logits = model(**inputs).logits[0, -n - 1:-1] / temperature
    logits[:, suppressed] = float("-inf")
    return logits.log_softmax(-1).gather(1, torch.tensor(completion_ids)[:, None])[:, 0]
