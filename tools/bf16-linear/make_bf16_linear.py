"""Writes the TorchScript module behind the engine's bfloat16 matrix products.

    python3 make_bf16_linear.py [OUT]   (default: the engine's resource, qwen-vl-core/src/main/resources/
                                         io/github/qwenvl/nn/bf16_linear.pt)

The module's forward(x, bits, bias) computes torch.nn.functional.linear(x, W) + bias with

- x: float32 activations (any leading dimensions, last = in), rounded to bfloat16 for the product;
- bits: the weight W (out, in) as a float16-typed tensor that holds bfloat16 bit patterns: DJL 0.36's Java side
  cannot hold a bfloat16 tensor (creating one aborts the JVM), but it holds a float16 one over the checkpoint's
  memory-mapped BF16 bytes without a copy. Inside, an empty bfloat16 tensor is pointed at the same storage
  (Tensor.set_), which reinterprets the bits: Tensor.view(dtype) cannot be used, TorchScript binds view(15) to
  view(size=[15]);
- bias: float32 (out), or a tensor with no elements for none; added in float32 (the same pass that widens the
  result).

The product runs in libtorch's bfloat16 GEMM (oneDNN's AVX512-BF16/AMX kernels on CPUs that have them, cuBLAS on
CUDA) with float32 accumulation; its bfloat16 result is widened to float32. The file is small (about 2 KB), holds no
weights, and is saved in TorchScript's version-3 format, which libtorch 2.7.1 (DJL 0.36) loads; it was written with
torch 2.13. Tests never run this script: the module is committed next to the Java class that loads it.
"""
import os
import sys

import torch
from torch import Tensor


class Bf16Linear(torch.nn.Module):
    def forward(self, x: Tensor, bits: Tensor, bias: Tensor) -> Tensor:
        weight = torch.empty([0], dtype=torch.bfloat16, device=bits.device)
        weight.set_(bits)
        y = torch.nn.functional.linear(x.to(torch.bfloat16), weight)
        if bias.numel() != 0:
            return torch.add(y, bias)  # type promotion: widens y and adds in float32, one pass
        return y.to(torch.float32)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.join(here, "..", "..", "qwen-vl-core", "src", "main", "resources", "io", "github", "qwenvl",
                           "nn", "bf16_linear.pt")
    out = sys.argv[1] if len(sys.argv) > 1 else default
    module = torch.jit.script(Bf16Linear())
    # check before saving: against float32 math on bfloat16-rounded inputs
    x = torch.randn(5, 3, 64)
    w = torch.randn(32, 64).to(torch.bfloat16)
    b = torch.randn(32)
    expected = torch.nn.functional.linear(x.to(torch.bfloat16).float(), w.float(), b)
    got = module(x, w.view(torch.float16), b)
    assert got.dtype == torch.float32 and got.shape == expected.shape
    assert torch.allclose(got, expected, rtol=1e-2, atol=1e-2), (got - expected).abs().max()
    assert torch.equal(module(x, w.view(torch.float16), torch.empty(0)) + b, got)
    module.save(out)
    print(module.code)
    print("wrote", os.path.normpath(out))


if __name__ == "__main__":
    main()
