"""How far the reference itself moves from its float32 goldens when it runs in bfloat16.

    python3 reference_bf16_error.py FIXTURES [SET ...]   (FIXTURES: the repository's fixtures/; sets default to
                                                          qwen2-vl-tiny qwen2_5-vl-tiny qwen3-vl-tiny)

Runs transformers' Qwen2-VL / Qwen2.5-VL / Qwen3-VL on each set's logits cases (the goldens' input ids, pixel values and image
grids) with the model in bfloat16 (torch_dtype=torch.bfloat16: every weight, activation and product in bfloat16, as
transformers users run it), and prints the largest |logit difference| against the float32 goldens relative to the
largest |golden| (at least 1) and the share of positions whose argmax agrees: the same figures
Bf16MatmulGoldenTest prints for the engine's weight-mode bf16-matmul. Needs torch, transformers and safetensors.
"""
import json
import os
import sys

import torch
from safetensors.torch import load_file


def model_class(config):
    import transformers
    if config["model_type"] == "qwen2_5_vl":
        return transformers.Qwen2_5_VLForConditionalGeneration
    if config["model_type"] == "qwen3_vl":
        return transformers.Qwen3VLForConditionalGeneration
    return transformers.Qwen2VLForConditionalGeneration


def main():
    root = sys.argv[1]
    sets = sys.argv[2:] or ["qwen2-vl-tiny", "qwen2_5-vl-tiny", "qwen3-vl-tiny"]
    for name in sets:
        model_dir = os.path.join(root, name, "model")
        config = json.load(open(os.path.join(model_dir, "config.json")))
        manifest = json.load(open(os.path.join(root, name, "goldens", "manifest.json")))
        model = model_class(config).from_pretrained(model_dir, torch_dtype=torch.bfloat16).eval()
        for case_name, case in manifest["cases"].items():
            if not (isinstance(case, dict) and "keys" in case and "final_hidden" in case["keys"]):
                continue
            golden = load_file(os.path.join(root, case["file"]))
            # the goldens' own M-RoPE positions (transformers 5.x would otherwise want the processor's mm_token_type_ids)
            kwargs = {"input_ids": golden["input_ids"], "attention_mask": golden["attention_mask"],
                      "position_ids": golden["position_ids"]}
            if isinstance(case.get("pixel_values"), dict):
                parts = []
                for ref in case["pixel_values"]["concat_of"]:
                    file, key = ref.split("#", 1)
                    parts.append(load_file(os.path.join(root, file))[key])
                kwargs["pixel_values"] = torch.cat(parts).to(torch.bfloat16)
                kwargs["image_grid_thw"] = golden["image_grid_thw"]
            with torch.no_grad():
                logits = model(**kwargs, use_cache=False).logits[0].float()
            cols = golden["logits_cols_ids"]
            expected = golden["logits_cols"]
            diff = (logits[:, cols] - expected).abs().max().item()
            last = (logits[-1] - golden["logits_last"]).abs().max().item()
            scale = max(1.0, expected.abs().max().item())
            agree = (logits.argmax(-1) == golden["argmax"]).sum().item()
            print(f"reference bfloat16 {name}/{case_name}: logits_cols max |d| {diff:.3e} (relative {diff / scale:.3e}),"
                  f" logits_last {last:.3e} (relative {last / max(1.0, golden['logits_last'].abs().max().item()):.3e}),"
                  f" argmax {agree} of {logits.shape[0]}")


if __name__ == "__main__":
    main()
