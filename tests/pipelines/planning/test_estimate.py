"""Architectures count the published parameters, and the estimator agrees with LLaMA-Factory's table."""

import json

import pytest

from pipelines.core.errors import DomaintuneError
from pipelines.core.tiny_model import SHAPE as TINY_SHAPE
from pipelines.planning.architectures import load_table, resolve_architecture
from pipelines.planning.estimate import (
    GIB,
    PUBLISHED_HARDWARE_TABLE,
    PUBLISHED_SIZES,
    PUBLISHED_TABLE_SETTINGS,
    estimate_memory,
    lora_params,
)

TABLE_CELLS = [
    (size, method, bits, published)
    for (method, bits), row in PUBLISHED_HARDWARE_TABLE.items()
    for size, published in zip(PUBLISHED_SIZES, row, strict=True)
]
TOLERANCE = 0.25


@pytest.mark.parametrize(("size", "method", "bits", "published"), TABLE_CELLS)
def test_agrees_with_llamafactory_hardware_table(size, method, bits, published):
    estimate = estimate_memory(resolve_architecture(size), method, bits, **PUBLISHED_TABLE_SETTINGS)
    assert abs(estimate.peak_gb - published) / published <= TOLERANCE, estimate.format_breakdown()


def test_lora_target_changes_the_trainable_count():
    arch = resolve_architecture("Qwen/Qwen2.5-1.5B-Instruct")
    every = estimate_memory(arch, "lora", 16, seq_len=512, batch=1, lora_rank=32, lora_target="all")
    q_v = estimate_memory(arch, "lora", 16, seq_len=512, batch=1, lora_rank=32, lora_target="q_proj,v_proj")
    assert (every.trainable, q_v.trainable) == (36_929_536, 28 * 32 * (3072 + 1792))
    assert q_v.peak_gb < every.peak_gb


# --- parameter counts -----------------------------------------------------------------------------


@pytest.mark.parametrize("model_id", sorted(load_table()))
def test_counts_match_model_card_totals(model_id):
    arch = resolve_architecture(model_id)
    assert arch.num_params == pytest.approx(arch.published_params, rel=0.03)
    assert arch.non_embedding_params == pytest.approx(arch.published_non_embedding_params, rel=0.03)


@pytest.mark.parametrize(
    ("model_id", "params"),
    [
        ("Qwen/Qwen2.5-0.5B-Instruct", 494_032_768),
        ("Qwen/Qwen2.5-7B-Instruct", 7_615_616_512),
        ("Qwen/Qwen2.5-72B-Instruct", 72_706_203_648),
        ("Qwen/Qwen3-0.6B", 596_049_920),
        ("Qwen/Qwen3-8B", 8_190_735_360),
    ],
)
def test_exact_counts(model_id, params):
    assert resolve_architecture(model_id).num_params == params


def test_ids_match_ignoring_case_and_base_models_share_the_shape():
    assert resolve_architecture("qwen/qwen2.5-7b-instruct").num_params == 7_615_616_512
    assert resolve_architecture("Qwen/Qwen2.5-7B").num_params == 7_615_616_512


def _shapes_from_transformers(config_dict):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    config = transformers.AutoConfig.for_model(**config_dict)
    with torch.device("meta"):
        model = transformers.AutoModelForCausalLM.from_config(config)
    return config, sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("model_id", sorted(load_table()))
def test_counts_equal_transformers_models_built_from_the_table(model_id):
    arch = resolve_architecture(model_id)
    fields = {
        "model_type": arch.model_type,
        "hidden_size": arch.hidden_size,
        "intermediate_size": arch.intermediate_size,
        "num_hidden_layers": arch.num_hidden_layers,
        "num_attention_heads": arch.num_attention_heads,
        "num_key_value_heads": arch.num_key_value_heads,
        "head_dim": arch.head_dim,
        "vocab_size": arch.vocab_size,
        "tie_word_embeddings": arch.tie_word_embeddings,
    }
    _, numel = _shapes_from_transformers(fields)
    assert arch.num_params == numel


@pytest.mark.parametrize("family", ["qwen2", "qwen3"])
def test_reads_a_local_config_json_like_the_tiny_model(family, tmp_path):
    config, numel = _shapes_from_transformers({"model_type": family, **TINY_SHAPE})
    config.save_pretrained(tmp_path)
    arch = resolve_architecture(str(tmp_path))
    assert arch.vocab_size == 151936
    assert arch.head_dim == 8
    assert arch.num_params == numel
    assert arch.source == str(tmp_path / "config.json")


def test_qwen2_config_without_head_dim(tmp_path):
    config = {"model_type": "qwen2", **{k: v for k, v in TINY_SHAPE.items() if k != "head_dim"}}
    (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    assert resolve_architecture(str(tmp_path)).head_dim == 16 // 2


def test_directory_without_config_json_is_an_error(tmp_path):
    with pytest.raises(DomaintuneError, match="no config.json"):
        resolve_architecture(str(tmp_path))


def test_unsupported_model_type_is_an_error(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama", **TINY_SHAPE}), encoding="utf-8")
    with pytest.raises(DomaintuneError, match="model_type 'llama' is not supported"):
        resolve_architecture(str(tmp_path))


@pytest.mark.parametrize(
    ("size", "params", "layers"),
    [("0.5b", 0.5e9, 24), ("7B", 7e9, 25), ("14B", 14e9, 45), ("30B", 30e9, 58), ("70B", 70e9, 77), ("500M", 0.5e9, 24)],
)
def test_sizes_are_synthesized_from_the_nearest_qwen25(size, params, layers):
    arch = resolve_architecture(size)
    assert arch.num_params == pytest.approx(params, rel=0.02)
    assert arch.num_hidden_layers == layers
    assert arch.published_params is None


def test_size_too_small_for_a_qwen_vocabulary():
    with pytest.raises(DomaintuneError, match="too small"):
        resolve_architecture("0.1B")


def test_unresolvable_model_lists_options():
    with pytest.raises(DomaintuneError, match="not a known id .*Qwen/Qwen3-0.6B"):
        resolve_architecture("Qwen/Qwen9-7B")


# --- components ---------------------------------------------------------------------------------

QWEN25_7B = "Qwen/Qwen2.5-7B-Instruct"


def test_lora_all_linear_rank8_on_qwen25_7b():
    # 28 layers x 8 x (q 7168 + k 4096 + v 4096 + o 7168 + gate 22528 + up 22528 + down 22528)
    assert lora_params(resolve_architecture(QWEN25_7B), 8) == 20_185_088
    assert lora_params(resolve_architecture(QWEN25_7B), 8, "q_proj,v_proj") == 28 * 8 * (7168 + 4096)


def test_unknown_lora_target_is_an_error():
    with pytest.raises(DomaintuneError, match="q_porj"):
        lora_params(resolve_architecture(QWEN25_7B), 8, "q_porj")


@pytest.mark.parametrize(("bits", "bytes_per_param"), [(32, 18), (16, 8)])
def test_full_states_bytes_per_parameter(bits, bytes_per_param):
    arch = resolve_architecture(QWEN25_7B)
    est = estimate_memory(arch, "full", bits)
    states = (est.weights + est.gradients + est.optimizer) * GIB
    assert states == pytest.approx(bytes_per_param * arch.num_params)


def test_lora_16_breakdown_for_qwen25_7b():
    est = estimate_memory(resolve_architecture(QWEN25_7B), "lora", 16, seq_len=512)
    assert est.trainable == 20_185_088
    assert est.weights == pytest.approx(14.260, abs=0.001)  # 2 bytes x 7.62B + fp32 adapters
    assert est.optimizer == pytest.approx(0.1504, abs=0.0001)  # Adam m, v in fp32 for 20.2M adapter params
    assert est.logits == pytest.approx(512 * 152064 * 12 / GIB)
    # 16.837 before the adapters' input copies, + one recomputed layer's: 512 tokens x 2 bytes x 40,448 input
    # widths, and 5% fragmentation on that.
    assert est.peak_gb == pytest.approx(16.837 + 1.05 * 512 * 2 * 40_448 / GIB, abs=0.001)


def test_quantized_weights_for_qwen25_7b():
    arch = resolve_architecture(QWEN25_7B)
    linear = arch.num_hidden_layers * arch.linear_params_per_layer
    adapters = 4 * 20_185_088
    unquantized = 2 * (arch.num_params - linear)
    nf4 = estimate_memory(arch, "qlora", 4).weights * GIB - adapters - unquantized
    assert nf4 / linear == pytest.approx(0.5 + 1 / 64 + 4 / (64 * 256))
    assert estimate_memory(arch, "qlora", 4).weights == pytest.approx(5.241, abs=0.001)
    assert estimate_memory(arch, "qlora", 8).weights == pytest.approx(8.188, abs=0.001)


def test_paged_8bit_adamw_keeps_two_one_byte_moments_with_a_block_absmax():
    arch = resolve_architecture(QWEN25_7B)
    adamw = estimate_memory(arch, "qlora", 4, seq_len=152, lora_rank=32)
    paged = estimate_memory(arch, "qlora", 4, seq_len=152, lora_rank=32, optim="paged_adamw_8bit")
    # 28 x 32 x 90,112 adapter parameters; m and v: 1 byte each plus an fp32 absmax per 256 values.
    assert paged.trainable == 80_740_352
    assert paged.optimizer * GIB == pytest.approx(80_740_352 * 2 * (1 + 4 / 256))
    assert adamw.optimizer * GIB == pytest.approx(80_740_352 * 8)
    assert (paged.weights, paged.gradients, paged.activations) == (adamw.weights, adamw.gradients, adamw.activations)
    # Everything else equal, the peak falls by the saved bytes and the fragmentation on them.
    assert adamw.peak_gb - paged.peak_gb == pytest.approx(1.05 * 80_740_352 * (8 - 2.03125) / GIB)
    assert paged.format_breakdown().splitlines()[0] == "Qwen/Qwen2.5-7B-Instruct: QLoRA 4-bit, rank 32, paged 8-bit AdamW"


def test_activations_with_and_without_checkpointing():
    arch = resolve_architecture(QWEN25_7B)
    # Per token and layer: (4h + 2q + 2kv + 4i) x 2 bytes + 2 norms x 4 bytes x h = 225,280 bytes, plus the
    # adapters' 16-bit input copies: 2 bytes x (q, k, v, gate, up: h each; o: q = h; down: i) = 80,896 bytes.
    per_token_layer = (4 * 3584 + 2 * 3584 + 2 * 512 + 4 * 18944) * 2 + 2 * 4 * 3584 + 2 * (6 * 3584 + 18944)
    assert per_token_layer == 225_280 + 80_896
    without = estimate_memory(arch, "lora", 16, seq_len=2048, gradient_checkpointing=False)
    assert without.activations * GIB == 28 * 2048 * per_token_layer
    with_ckpt = estimate_memory(arch, "lora", 16, seq_len=2048, gradient_checkpointing=True)
    assert with_ckpt.activations * GIB == 28 * 2048 * 3584 * 2 + 2048 * per_token_layer
    assert with_ckpt.activations == pytest.approx(0.9668, abs=1e-4)


def test_qwen3_adds_its_q_and_k_norms_and_full_fine_tuning_has_no_adapter_copies():
    arch = resolve_architecture("Qwen/Qwen3-0.6B")  # h 1024, q 2048, kv 1024, i 3072, 28 layers
    base = (4 * 1024 + 2 * 2048 + 2 * 1024 + 4 * 3072) * 2 + 2 * 4 * 1024
    qk_norms = 6 * (2048 + 1024)
    adapters = 2 * (3 * 1024 + 2048 + 2 * 1024 + 3072)
    lora = estimate_memory(arch, "lora", 16, seq_len=100, gradient_checkpointing=False)
    full = estimate_memory(arch, "full", 16, seq_len=100, gradient_checkpointing=False)
    assert lora.activations * GIB == 28 * 100 * (base + qk_norms + adapters)
    assert full.activations * GIB == 28 * 100 * (base + qk_norms)


def test_batch_scales_activations_and_logits_linearly():
    arch = resolve_architecture("Qwen/Qwen3-0.6B")
    one = estimate_memory(arch, "lora", 16, seq_len=1024, batch=1)
    four = estimate_memory(arch, "lora", 16, seq_len=1024, batch=4)
    assert four.logits == pytest.approx(4 * one.logits)
    assert four.activations == pytest.approx(4 * one.activations)
    assert one.logits == pytest.approx(1024 * 151936 * 12 / GIB)


def test_zero_stages_split_states_across_devices():
    arch = resolve_architecture(QWEN25_7B)
    params = arch.num_params
    z1, z2, z3 = (estimate_memory(arch, "full", 32, devices=8, zero_stage=s) for s in (1, 2, 3))
    assert z1.optimizer * GIB == pytest.approx(12 * params / 8)
    assert z1.gradients * GIB == pytest.approx(2 * params)
    assert z2.gradients * GIB == pytest.approx(2 * params / 8)
    assert z2.weights * GIB == pytest.approx(2 * params)
    # ZeRO-3 keeps 1/8 of the weights plus the gathered lm_head (152064 x 3584, larger than two layers).
    assert z3.weights * GIB == pytest.approx(2 * params / 8 + 2 * 152064 * 3584)
    assert z1.peak_gb > z2.peak_gb > z3.peak_gb
    assert z3.peak_gb == pytest.approx(20.97, abs=0.01)


def test_offload_moves_optimizer_and_weights_to_cpu():
    arch = resolve_architecture(QWEN25_7B)
    est = estimate_memory(arch, "full", 32, devices=8, zero_stage=3, offload=True)
    assert (est.optimizer, est.gradients) == (0, 0)
    assert est.weights * GIB == pytest.approx(2 * 152064 * 3584)


def test_zero2_adds_its_reduce_bucket():
    arch = resolve_architecture(QWEN25_7B)
    plain = estimate_memory(arch, "lora", 16, devices=2)
    zero2 = estimate_memory(arch, "lora", 16, devices=2, zero_stage=2)
    assert zero2.overhead - plain.overhead == pytest.approx(2 * 5e8 / GIB, abs=0.05)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "qlora", "bits": 16}, "qlora takes bits 8 or 4"),
        ({"method": "full", "bits": 8}, "full takes bits 32 or 16"),
        ({"method": "prefix", "bits": 16}, "unknown method"),
        ({"method": "full", "bits": 16, "devices": 8, "zero_stage": 3}, "pure_bf16"),
        ({"method": "lora", "bits": 16, "offload": True}, "offload needs"),
        ({"method": "lora", "bits": 16, "optim": "adafactor"}, "unknown optim 'adafactor'"),
        ({"method": "lora", "bits": 16, "devices": 2, "zero_stage": 2, "optim": "paged_adamw_8bit"}, "not combined with DeepSpeed"),
    ],
)
def test_invalid_combinations(kwargs, message):
    with pytest.raises(DomaintuneError, match=message):
        estimate_memory(resolve_architecture(QWEN25_7B), **kwargs)


def test_to_dict_and_breakdown():
    est = estimate_memory(resolve_architecture(QWEN25_7B), "lora", 16, seq_len=512)
    data = est.to_dict()
    assert data["peak_gb"] == est.peak_gb
    assert data["trainable"] == 20_185_088
    text = est.format_breakdown()
    assert "Qwen/Qwen2.5-7B-Instruct: LoRA 16-bit, rank 8, AdamW" in text
    assert "peak            16.88 GB per device" in text
    assert "trainable 20,185,088 of 7,615,616,512 parameters (0.27%)" in text
