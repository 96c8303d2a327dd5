# The peer on the same GPU: transformers on the benchmark's random checkpoint (the class config.json names:
# Qwen2-VL, Qwen2.5-VL, Qwen3-VL). The CPU peer is tools/peer/peer_cpu.py.
import json, sys, time, statistics, torch, transformers
from transformers import AutoConfig
d, dtype_name = sys.argv[1], sys.argv[2]
dtype = getattr(torch, dtype_name)
cfg = json.load(open(d + '/config.json'))
arch = cfg['architectures'][0]
cls = getattr(transformers, arch)
print('peer', transformers.__version__, torch.__version__, arch, dtype_name, flush=True)
t0 = time.time()
try:
    m = cls.from_pretrained(d, dtype=dtype)
except TypeError:
    m = cls.from_pretrained(d, torch_dtype=dtype)
m = m.cuda().eval()
torch.cuda.synchronize(); print('load %.1f s' % (time.time() - t0), flush=True)
visual = m.model.visual if hasattr(m, 'model') and hasattr(m.model, 'visual') else m.visual
vc = cfg['vision_config']
patch_dim = vc.get('in_chans', vc.get('in_channels', 3)) * vc.get('temporal_patch_size', 2) * vc['patch_size'] ** 2
def timed(f, n=3):
    f(); torch.cuda.synchronize()
    ts = []
    for _ in range(n):
        torch.cuda.synchronize(); t = time.perf_counter(); f(); torch.cuda.synchronize(); ts.append(time.perf_counter() - t)
    return statistics.median(ts) * 1000
g = torch.Generator().manual_seed(1)
for (h, w) in [(32, 32), (72, 96)]:
    grid = torch.tensor([[1, h, w]], device='cuda')
    px = torch.randn(h * w, patch_dim, generator=g).to('cuda', dtype)
    n_img = h * w // 4
    ids = [cfg.get('vision_start_token_id', 151652)] + [cfg.get('image_token_id', 151655)] * n_img + [cfg.get('vision_end_token_id', 151653)]
    ids = torch.tensor([[151644, 872, 198] + ids + list(range(1000, 1000 + 22))], device='cuda')
    with torch.inference_mode():
        try:
            vis = timed(lambda: visual(px, grid_thw=grid))
        except TypeError:
            vis = timed(lambda: visual(px, grid))
        extra = {'mm_token_type_ids': (ids == cfg.get('image_token_id', 151655)).long()}
        try:
            m(input_ids=ids, pixel_values=px, image_grid_thw=grid, use_cache=True, **extra)
        except TypeError:
            extra = {}
        full = timed(lambda: m(input_ids=ids, pixel_values=px, image_grid_thw=grid, use_cache=True, **extra))
    print('image %dx%d patches %d prompt %d: vision %.1f ms, vision+prefill (first-token forward) %.1f ms' % (w * vc['patch_size'], h * vc['patch_size'], h * w, ids.shape[1], vis, full), flush=True)
text = torch.tensor([[151644, 872, 198] + list(range(1000, 1020))], device='cuda')
for n in [32, 128]:
    with torch.inference_mode():
        m.generate(text, max_new_tokens=4, min_new_tokens=4, do_sample=False)
        ts = []
        for _ in range(3):
            torch.cuda.synchronize(); t = time.perf_counter()
            out = m.generate(text, max_new_tokens=n, min_new_tokens=n, do_sample=False)
            torch.cuda.synchronize(); ts.append(time.perf_counter() - t)
    print('generate %d tokens: %.1f tok/s (median of 3, prefill included)' % (n, n / statistics.median(ts)), flush=True)
