"""The optimizer the planner's last resort names is the one LLaMA-Factory trains with, and its states take the bytes
the estimator counts: bitsandbytes' paged 8-bit AdamW (on a CPU bitsandbytes runs it unpaged, with the same states).
That LLaMA-Factory trains with it when a recipe names it: tests/test_end_to_end.py, on the module's one training."""

import bitsandbytes as bnb
import pytest
import torch

from pipelines.planning.architectures import resolve_architecture
from pipelines.planning.estimate import GIB, PAGED_ADAMW_8BIT, estimate_memory

CPU_FALLBACK = "ignore:Paged optimizers are not supported on CPU"  # bitsandbytes' own warning, expected here


@pytest.mark.filterwarnings(CPU_FALLBACK)
def test_paged_8bit_adamw_states_take_the_bytes_the_estimator_counts():
    # The adapters of one Qwen2.5-7B layer at rank 8: A is rank x in, B is out x rank, for all seven linear modules.
    arch, rank = resolve_architecture("Qwen/Qwen2.5-7B-Instruct"), 8
    shapes = [shape for n_in, n_out in arch.linear_shapes().values() for shape in ((rank, n_in), (n_out, rank))]
    params = [torch.nn.Parameter(torch.zeros(shape)) for shape in shapes]
    optimizer = bnb.optim.PagedAdamW8bit(params, lr=1e-4)
    for p in params:
        p.grad = torch.ones_like(p)
    optimizer.step()
    states = [optimizer.state[p] for p in params]
    assert {state["state1"].dtype for state in states} == {torch.uint8}  # every tensor has >= 4,096 values
    # The 256-entry quantization maps (qmap1/2) are one pair shared by the whole optimizer, not per parameter.
    measured = sum(state[key].nbytes for state in states for key in ("state1", "state2", "absmax1", "absmax2"))
    estimated = estimate_memory(arch, "qlora", 4, lora_rank=rank, optim=PAGED_ADAMW_8BIT).optimizer * GIB
    assert measured == pytest.approx(estimated / arch.num_hidden_layers, rel=1e-12)
