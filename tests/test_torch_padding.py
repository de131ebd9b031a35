"""A converted model's crossbars read the real tokens only: padding positions (attention
mask 0) are no input a streaming accelerator sees (:meth:`.torch_chip.AnalogChip.linear`,
the hooks of :func:`.convert.convert`).

Independent expectation: a crossbar read is row by row the same (each token's planes,
converter codes and shift-add depend on that token alone), so the real tokens' outputs
equal those of the same batch with every position read, and a sentence's outputs in a
batch equal its outputs run alone (unpadded; the attention itself depends on the padded
length through the 1/sum lookup's range, so the padded sentence is compared within its
batch only). The one batch-dependent choice, which high bit planes take the sparse
form, is switched off (``SPARSE_MAX = 0``: every plane dense)."""
import copy
import warnings

import pytest
import torch
from transformers import BertConfig, BertModel

import imcspice.accelerators as acc
from imcspice.accelerators import arch as arch_mod
from imcspice.accelerators import torch_analog, torch_bitserial
from imcspice.accelerators.analog import Nonideal

torch.set_num_threads(1)
warnings.simplefilter("ignore")


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = BertModel(BertConfig(vocab_size=120, hidden_size=32, num_hidden_layers=2,
                             num_attention_heads=4, intermediate_size=64,
                             max_position_embeddings=64), add_pooling_layer=False).eval()
    g = torch.Generator().manual_seed(2)
    calib = {"input_ids": torch.randint(0, 120, (4, 16), generator=g),
             "attention_mask": torch.ones(4, 16, dtype=torch.long)}
    # linear cells and the TIAs' noise off: with either every read draws noise, and a
    # batch's padding would shift the draws of the tokens after it
    a = arch_mod.load("race-it", ["crossbar.read_model=false"])
    return acc.convert(copy.deepcopy(m), a, calibration=[calib],
                       nonideal=Nonideal(tia_noise=0.0))


def test_padding_is_not_read_and_changes_no_token(model, monkeypatch):
    monkeypatch.setattr(torch_bitserial, "SPARSE_MAX", 0.0)
    g = torch.Generator().manual_seed(5)
    ids = torch.randint(0, 120, (2, 12), generator=g)
    mask = torch.ones_like(ids)
    mask[1, 7:] = 0                                   # the second sentence: 7 tokens
    rows = []
    fwd = torch_analog.TorchCrossbarLinear.forward

    def counting(self, x, weight):
        rows.append(x.reshape(-1, x.shape[-1]).shape[0])
        return fwd(self, x, weight)

    monkeypatch.setattr(torch_analog.TorchCrossbarLinear, "forward", counting)
    with torch.no_grad():
        batch = model(input_ids=ids, attention_mask=mask).last_hidden_state
        n_batch = list(rows)
        rows.clear()
        alone = model(input_ids=ids[:1], attention_mask=mask[:1]).last_hidden_state
        monkeypatch.setattr(model, "_forward_pre_hooks", type(model._forward_pre_hooks)())
        every = model(input_ids=ids, attention_mask=mask).last_hidden_state
    assert model._imcspice_chip.tokens is None          # cleared after the call
    # every crossbar of the batch read 12 + 7 tokens, not 2 x 12 positions
    assert n_batch and all(n == 19 for n in n_batch)
    assert rows and all(n == 12 for n in rows[:len(n_batch)])
    assert all(n == 24 for n in rows[len(n_batch):])    # hooks off: every position
    torch.testing.assert_close(batch[0], every[0], rtol=0, atol=0)
    torch.testing.assert_close(batch[1, :7], every[1, :7], rtol=0, atol=0)
    torch.testing.assert_close(batch[:1], alone, rtol=0, atol=0)
