"""The sd15 backend, proven on tiny random SD-1.5-shaped components built in code (offline)."""

import string

import numpy as np
import pytest
import torch

from conditioning.errors import DefectforgeError
from pipeline.crop_sets import defect_crops
from pipeline.models import create_backend, load_backend
from pipeline.train import TrainConfig, train_on_data


def _tokenizer():
    from transformers import CLIPTokenizer

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for char in string.ascii_lowercase + string.digits + "-,.()":
        vocab.setdefault(char, len(vocab))
        vocab.setdefault(char + "</w>", len(vocab))
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[], model_max_length=16)
    assert len(tokenizer) > 2
    return tokenizer


def _unet(in_channels):
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        sample_size=16, in_channels=in_channels, out_channels=4, block_out_channels=(16, 32), layers_per_block=1,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=32, attention_head_dim=4, norm_num_groups=8,
    )


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory):
    """A diffusers folder shaped like SD-1.5 inpainting (9-channel UNet), plus an edge ControlNet."""
    from diffusers import AutoencoderKL, ControlNetModel, DDPMScheduler
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("sd15")
    unet = _unet(9)
    unet.save_pretrained(root / "base" / "unet")
    AutoencoderKL(block_out_channels=(8, 16), down_block_types=["DownEncoderBlock2D"] * 2,
                  up_block_types=["UpDecoderBlock2D"] * 2, latent_channels=4, norm_num_groups=8,
                  sample_size=32).save_pretrained(root / "base" / "vae")
    CLIPTextModel(CLIPTextConfig(hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
                                 vocab_size=100, bos_token_id=0, eos_token_id=1, pad_token_id=1,
                                 max_position_embeddings=16)).save_pretrained(root / "base" / "text_encoder")
    _tokenizer().save_pretrained(root / "base" / "tokenizer")
    DDPMScheduler(beta_schedule="scaled_linear").save_pretrained(root / "base" / "scheduler")
    edge = ControlNetModel.from_unet(_unet(4), conditioning_embedding_out_channels=(16, 32))
    edge.save_pretrained(root / "edge")
    return root


def _config(root, **kw):
    return {"base": str(root / "base"), "resolution": 32, "inference_steps": 2, "lora_rank": 2,
            "prompts": {"dark": "a dark spot"}, **kw}


def _batch(kit):
    crops = defect_crops(kit.data(n=4).examples, (32,), 2, 0.5).by_side[32]
    return crops.batch(np.arange(2), np.random.default_rng(0))


@pytest.mark.slow
@pytest.mark.parametrize("adapter", ["controlnet", "t2i"])
def test_gen_sd15_forward_and_round_trip(tmp_path, tiny_base, kit, adapter):
    extra = [str(tiny_base / "edge")] if adapter == "controlnet" else []
    backend = create_backend("sd15", kit.classes, _config(tiny_base, adapter=adapter, controlnets=extra))
    batch = _batch(kit)
    for stage in ("base", "control"):
        assert torch.isfinite(backend.loss(batch, stage, torch.Generator().manual_seed(0)))
    before = backend.sample(batch, seeds=[1, 2])
    outside = (batch.region == 0).expand_as(before)
    assert torch.equal(before[outside], batch.clean[outside])
    backend.save(tmp_path / "m")
    assert (tmp_path / "m" / "lora" / "unet_lora.safetensors").is_file()
    assert torch.equal(before, load_backend(tmp_path / "m").sample(batch, seeds=[1, 2]))


@pytest.mark.slow
def test_gen_sd15_two_step_training_of_each_stage(tmp_path, tiny_base, kit):
    cfg = TrainConfig(backend="sd15", model=_config(tiny_base), base_steps=2, control_steps=2, batch_size=2,
                      clean_crops=4)
    out = train_on_data(kit.data(n=4), tmp_path / "m", cfg, progress=False)
    backend = load_backend(out)
    assert backend.name == "sd15" and any("lora" in n for n, _ in backend.unet.named_parameters())


def test_gen_sd15_controlnet_starts_as_a_copy_of_the_base_unet(tiny_base, kit):
    from diffusers import UNet2DConditionModel

    backend = create_backend("sd15", kit.classes, _config(tiny_base))
    base = UNet2DConditionModel.from_pretrained(tiny_base / "base" / "unet").state_dict()
    control = backend.adapter.state_dict()
    shared = [k for k in control if k in base and base[k].shape == control[k].shape]
    assert len(shared) > 20 and any(".attn1.to_q." in k for k in shared)
    differing = [k for k in shared if not torch.equal(control[k], base[k])]
    assert differing == []


def test_gen_sd15_hub_id_fails_fast_with_a_clear_message(kit):
    with pytest.raises(DefectforgeError, match="local"):
        create_backend("sd15", kit.classes, {"base": "someone/not-on-this-machine"})
