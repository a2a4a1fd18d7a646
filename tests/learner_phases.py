"""Three GRPO phases (answerer, questioner, answerer) of the real learner on a tiny model, run as one
process of a launch (torchrun for DDP, accelerate launch for DeepSpeed); the main process writes both
adapters to OUT. tests/test_deepspeed.py runs it under both and compares.

    python tests/learner_phases.py MODEL_DIR OUT.safetensors
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
from PIL import Image  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

from selfplay.config import ModelConfig  # noqa: E402
from selfplay.engine import HFEngine, Prompt  # noqa: E402
from selfplay.learner import Group, RoleLearner  # noqa: E402
from selfplay.modeling import attach_role_adapters, load_model_and_processor, role_parameters  # noqa: E402

ROLES = ("questioner", "answerer")


def main(model_dir: str, out: str) -> None:
    from accelerate import PartialState

    state = PartialState()
    torch.manual_seed(0)
    model, processor = load_model_and_processor(model_dir, torch.float32)
    model = attach_role_adapters(model, ModelConfig())
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():  # a non-zero B, so that every LoRA weight has a gradient from the first step
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.copy_(0.05 * torch.randn(p.shape, generator=generator))
    colours = ((200, 0, 0), (0, 0, 200), (0, 160, 0), (220, 220, 0))
    prompts = [Prompt([{"role": "user", "content": f"What colour is image {i}?"}], Image.new("RGB", (56, 56), c))
               for i, c in enumerate(colours)]
    samples = HFEngine(model, processor).generate("answerer", prompts, 4, max_new_tokens=6)  # same on every rank
    rewards = [[1.0, 0.0, 0.0, 0.5], [0.0, 1.0, 1.0, 0.0], [0.2, 0.9, 0.4, 0.1], [1.0, 1.0, 0.0, 0.3]]
    groups = [Group(p.messages, p.image, s, r) for p, s, r in zip(prompts, samples, rewards)]
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    learners = {role: RoleLearner(role, model, processor, group_size=4, steps=1, learning_rate=1e-2,
                                  micro_batch_sequences=4, world_size=world_size) for role in ROLES}
    for phase, role in enumerate(("answerer", "questioner", "answerer")):
        learners[role].learn(groups, phase)
    if state.is_main_process:
        save_file({f"{role}/{name}": p.detach().contiguous() for role in ROLES
                   for name, p in role_parameters(model, role).items()}, out,
                  metadata={"distributed_type": str(state.distributed_type), "world_size": str(world_size)})


if __name__ == "__main__":
    main(*sys.argv[1:3])
