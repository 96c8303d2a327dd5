"""The CPU peer: Hugging Face transformers on the benchmark's random checkpoint, same machine, same thread count.

Runs the architecture config.json names (Qwen2VLForConditionalGeneration, Qwen2_5_VLForConditionalGeneration,
Qwen3VLForConditionalGeneration) and prints, per dtype:
  * the vision tower alone on an image's patch rows (random pixel values of the shape the processor gives a
    WIDTHxHEIGHT image: preprocessing is not timed),
  * the first-token forward (vision tower + prefill of the whole prompt, image tokens included),
  * decode tok/s of greedy `generate` on a short text prompt: (N - 1) new tokens / (time of N tokens - time of 1).
Every figure is the median of RUNS timed calls after one untimed call.

usage: python peer_cpu.py <model dir> [--dtypes float32,bfloat16] [--threads 2] [--images 448x448]
                          [--runs 2] [--tokens 32]
The benchmark writes the model dir (qwen-vl-core/target/bench-models/<preset>); see docs/performance.md.
"""
import argparse
import json
import statistics
import time

import torch
import transformers

p = argparse.ArgumentParser()
p.add_argument('model')
p.add_argument('--dtypes', default='float32,bfloat16')
p.add_argument('--threads', type=int, default=2)
p.add_argument('--images', default='448x448')
p.add_argument('--runs', type=int, default=2)
p.add_argument('--tokens', type=int, default=32)
p.add_argument('--prompt-text', type=int, default=22, help='text tokens around the image tokens')
a = p.parse_args()
torch.set_num_threads(a.threads)

cfg = json.load(open(a.model + '/config.json'))
arch = cfg['architectures'][0]
cls = getattr(transformers, arch)
vc = cfg['vision_config']
patch = vc.get('patch_size', 14)
merge = vc.get('spatial_merge_size', 2)
temporal = vc.get('temporal_patch_size', 2)
patch_dim = vc.get('in_chans', vc.get('in_channels', 3)) * temporal * patch ** 2
image_id = cfg.get('image_token_id', 151655)
start_id = cfg.get('vision_start_token_id', 151652)
end_id = cfg.get('vision_end_token_id', 151653)
print('peer: transformers %s, torch %s, %s, %d threads' % (transformers.__version__, torch.__version__, arch,
                                                             torch.get_num_threads()), flush=True)


def timed(f, runs):
    f()
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts), ts


def grid_of(width, height):
    # smart_resize's rounding (no pixel clamps): each side to a multiple of patch * merge
    factor = patch * merge
    h = max(factor, round(height / factor) * factor)
    w = max(factor, round(width / factor) * factor)
    return h // patch, w // patch


for dtype_name in a.dtypes.split(','):
    dtype = getattr(torch, dtype_name)
    t0 = time.perf_counter()
    try:
        m = cls.from_pretrained(a.model, dtype=dtype)
    except TypeError:
        m = cls.from_pretrained(a.model, torch_dtype=dtype)
    m = m.eval()
    print('[%s] load %.1f s' % (dtype_name, time.perf_counter() - t0), flush=True)
    visual = m.model.visual if hasattr(m, 'model') and hasattr(m.model, 'visual') else m.visual
    g = torch.Generator().manual_seed(1)
    for size in a.images.split(','):
        width, height = (int(x) for x in size.split('x'))
        gh, gw = grid_of(width, height)
        grid = torch.tensor([[1, gh, gw]])
        px = torch.randn(gh * gw, patch_dim, generator=g).to(dtype)
        n_img = gh * gw // (merge * merge)
        text = list(range(1000, 1000 + a.prompt_text))
        ids = torch.tensor([[900, 901, 902, start_id] + [image_id] * n_img + [end_id] + text])
        extra = {'mm_token_type_ids': (ids == image_id).long()}
        with torch.inference_mode():
            try:
                m(input_ids=ids, pixel_values=px, image_grid_thw=grid, use_cache=True, **extra)
            except (TypeError, ValueError):
                extra = {}
            try:
                vis, vis_all = timed(lambda: visual(px, grid_thw=grid), a.runs)
            except TypeError:
                vis, vis_all = timed(lambda: visual(px, grid), a.runs)
            full, full_all = timed(lambda: m(input_ids=ids, pixel_values=px, image_grid_thw=grid, use_cache=True,
                                             **extra), a.runs)
        prefill = full - vis
        print('[%s] image %dx%d -> grid %dx%d (%d patches, %d image tokens, prompt %d): vision %.2f s %s,'
              ' first-token forward (vision + prefill) %.2f s %s, so prefill ~%s'
              % (dtype_name, width, height, gw, gh, gh * gw, n_img, ids.shape[1], vis,
                 ['%.2f' % x for x in vis_all], full, ['%.2f' % x for x in full_all],
                 '%.2f s = %.1f tok/s' % (prefill, ids.shape[1] / prefill) if prefill > 0 else 'n/a (noise)'),
              flush=True)
    prompt = torch.tensor([list(range(1000, 1033))])
    with torch.inference_mode():
        one, _ = timed(lambda: m.generate(prompt, max_new_tokens=1, min_new_tokens=1, do_sample=False), a.runs)
        n = a.tokens
        many, many_all = timed(lambda: m.generate(prompt, max_new_tokens=n, min_new_tokens=n, do_sample=False),
                               a.runs)
    print('[%s] text prompt %d tokens: first token %.2f s; generate %d tokens %.2f s %s: decode %.2f tok/s'
          % (dtype_name, prompt.shape[1], one, n, many, ['%.2f' % x for x in many_all], (n - 1) / (many - one)),
          flush=True)
    del m, visual
